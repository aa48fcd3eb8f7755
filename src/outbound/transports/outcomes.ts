// How the answers of non-HTTP destinations map onto the engine's outcomes (pure: no I/O).
//
// The attempt log keeps an HTTP-like status code for every transport, so the retry policy,
// the circuit breaker and the attempts API's `status_code_class` filter treat every
// destination alike; the destination's own answer (the SMTP reply, Postmark's JSON, the
// JetStream PubAck) is the attempt's response text.

import { answered, type Outcome, refusedOutcome, unanswered } from './types.js';

// ---------------------------------------------------------------------------------------------
// SMTP

/** What nodemailer reports when a message is accepted. */
export interface SmtpInfo {
  response?: string;
  messageId?: string;
  accepted?: unknown[];
  rejected?: unknown[];
}

/** What nodemailer throws: `responseCode` is the SMTP reply code when the server answered. */
export interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  message: string;
}

/** Accepted by the server (for at least one recipient): 200, with the server's reply. */
export function smtpAccepted(info: SmtpInfo): Outcome {
  const rejected = (info.rejected ?? []).map(String);
  return answered(
    200,
    JSON.stringify({
      smtp: info.response ?? '',
      messageId: info.messageId ?? null,
      accepted: (info.accepted ?? []).map(String),
      ...(rejected.length > 0 ? { rejected } : {}),
    }),
  );
}

/**
 * SMTP replies → retry semantics (RFC 5321 §4.2.1):
 * - 4yz is a *transient* negative reply (greylisting 451, mailbox busy 450, too many
 *   connections 421, insufficient storage 452): the same mail may succeed later → 503, retried
 *   on the schedule, and the breaker counts the server as down.
 * - 5yz is a *permanent* negative reply (no such user 550, bad address 553, message refused
 *   554…): sending the same mail again gives the same answer → 422, not retried (dead-lettered).
 *   Authentication failures (530, 534, 535) → 401, not retried either: fix the credentials in
 *   SWITCHBOARD_SMTP_URL, then resend or recover.
 * - No reply at all (connection refused or reset, DNS, TLS, greeting or socket timeout): a
 *   network error or a timeout, retried.
 * - nodemailer's own refusals before talking to a server (no recipients, a malformed message)
 *   → 422, not retried.
 */
export function smtpFailure(error: SmtpError): Outcome {
  const reply = (error.response ?? error.message).trim();
  const code = error.responseCode;
  if (code !== undefined && code >= 400 && code < 500) return answered(503, `SMTP ${reply}`);
  if (code !== undefined && code >= 500 && code < 600) {
    const auth = code === 530 || code === 534 || code === 535;
    return answered(auth ? 401 : 422, `SMTP ${reply}`);
  }
  switch (error.code) {
    case 'ETIMEDOUT':
      return unanswered('timeout', `SMTP timeout: ${error.message}`);
    case 'EENVELOPE':
    case 'EMESSAGE':
      return answered(422, `SMTP refused the message: ${error.message}`);
    case 'EAUTH':
      return answered(401, `SMTP authentication failed: ${error.message}`);
    default:
      return unanswered(
        'network-error',
        `SMTP network error: ${error.code ? `${error.code} ` : ''}${error.message}`,
      );
  }
}

// ---------------------------------------------------------------------------------------------
// Postmark

// Postmark API error codes that an operator can clear without changing the email: the account
// ran out of credits (405) or is pending approval (412). Retried, like a 503.
const POSTMARK_ACCOUNT_ERRORS = new Set([405, 412]);

/**
 * Postmark's answer to `POST /email` → retry semantics. 200 with ErrorCode 0 is success (the
 * response names the MessageID). 401 (bad server token) and 422 with an ErrorCode about the
 * email itself (invalid address 300, inactive recipient 406, unconfirmed sender 400/401…) are
 * permanent; 429, 5xx and the account-level ErrorCodes 405/412 are retried.
 */
export function postmarkResult(status: number, body: string): Outcome {
  let errorCode: number | undefined;
  let message: string | undefined;
  try {
    const parsed = JSON.parse(body) as { ErrorCode?: unknown; Message?: unknown };
    if (typeof parsed.ErrorCode === 'number') errorCode = parsed.ErrorCode;
    if (typeof parsed.Message === 'string') message = parsed.Message;
  } catch {
    // not JSON: judged by the status alone
  }
  if (status >= 200 && status < 300) {
    if (errorCode === undefined || errorCode === 0) return answered(200, body);
    return answered(422, `Postmark ErrorCode ${errorCode}: ${message ?? body}`);
  }
  const text =
    errorCode === undefined
      ? `Postmark ${status}: ${body}`
      : `Postmark ${status} ErrorCode ${errorCode}: ${message ?? body}`;
  if (status === 422 && errorCode !== undefined && POSTMARK_ACCOUNT_ERRORS.has(errorCode)) {
    return answered(503, text);
  }
  return answered(status, text);
}

// ---------------------------------------------------------------------------------------------
// NATS JetStream

/** What the `nats` client throws (NatsError): `code` is one of its ErrorCode strings. */
export interface NatsFailure {
  code?: string;
  message: string;
  api_error?: { code?: number; err_code?: number; description?: string };
}

/** A PubAck: 200, with the stream, its sequence and whether JetStream saw the id before. */
export function natsAcked(ack: { stream: string; seq: number; duplicate: boolean }): Outcome {
  return answered(
    200,
    JSON.stringify({ stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate }),
  );
}

/**
 * NATS errors → retry semantics:
 * - no responders (503): no stream captures the subject (yet) → 503, retried; an operator may
 *   add the stream meanwhile.
 * - timeouts (no PubAck in time, JetStream's 408) → timeout, retried.
 * - connection refused, closed, draining, disconnected → network error, retried.
 * - a JetStream API error carries an HTTP-like code: 5xx (stream full with discard new…)
 *   retried, 4xx (stream sealed, wrong expectations…) not.
 * - a payload above the server's max_payload → 413, not retried (it will never fit).
 */
export function natsFailure(subject: string, error: NatsFailure): Outcome {
  const api = error.api_error;
  if (api?.code !== undefined && api.code >= 400 && api.code < 600) {
    return answered(
      api.code,
      `JetStream error ${api.err_code ?? api.code}: ${api.description ?? error.message}`,
    );
  }
  switch (error.code) {
    case '503':
      return answered(503, `no JetStream stream captures subject "${subject}" (no responders)`);
    case 'TIMEOUT':
    case '408':
      return unanswered('timeout', `timeout: no PubAck for "${subject}" in time`);
    case 'MAX_PAYLOAD_EXCEEDED':
      return answered(413, `message too large for the NATS server: ${error.message}`);
    case 'BAD_SUBJECT':
      return refusedOutcome(`invalid NATS subject "${subject}": ${error.message}`);
    default:
      return unanswered(
        'network-error',
        `NATS ${error.code ? `${error.code}: ` : ''}${error.message}`,
      );
  }
}
