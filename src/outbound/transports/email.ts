import { createTransport, type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import {
  DestinationError,
  parseDestination,
  type RenderedEmail,
  renderEmail,
  TemplateError,
} from './destination.js';
import {
  postmarkResult,
  type SmtpError,
  type SmtpInfo,
  smtpAccepted,
  smtpFailure,
} from './outcomes.js';
import {
  answered,
  type Delivery,
  type Outcome,
  refusedOutcome,
  type SendResult,
  type Transport,
  timed,
  unanswered,
} from './types.js';

/** One email, ready to send. */
export interface Email extends RenderedEmail {
  from: string;
  /** A stable Message-ID per (message, endpoint), so a mailbox can spot a re-sent email. */
  messageId: string;
  headers: Record<string, string>;
}

/** Sends an email and says how it went, in the engine's terms (see outcomes.ts). */
export interface Mailer {
  readonly kind: 'smtp' | 'postmark' | 'log';
  send(email: Email): Promise<Outcome>;
  close?(): Promise<void>;
}

/** What chooses the mailer: SMTP first, then Postmark, else the logging mailer. */
export interface MailerConfig {
  smtpUrl: string | undefined;
  postmarkToken: string | undefined;
  postmarkUrl: string;
  postmarkStream: string | undefined;
}

const TIMEOUT_MS = 15_000;
const RESPONSE_CAP = 16 * 1024;

export function createMailer(config: MailerConfig, log: Logger): Mailer {
  if (config.smtpUrl !== undefined) return new SmtpMailer(config.smtpUrl);
  if (config.postmarkToken !== undefined) {
    return new PostmarkMailer(config.postmarkUrl, config.postmarkToken, config.postmarkStream);
  }
  return new LoggingMailer(log);
}

/** SMTP through nodemailer (a small pool of connections; STARTTLS when the server offers it). */
export class SmtpMailer implements Mailer {
  readonly kind = 'smtp';
  private readonly transporter: Transporter;

  constructor(url: string) {
    // Settings in the URL's query (e.g. ?ignoreTLS=true) override these.
    this.transporter = createTransport({
      url,
      pool: true,
      maxConnections: 5,
      connectionTimeout: TIMEOUT_MS,
      greetingTimeout: TIMEOUT_MS,
      socketTimeout: TIMEOUT_MS,
    } as Parameters<typeof createTransport>[0]);
  }

  async send(email: Email): Promise<Outcome> {
    try {
      const info = (await this.transporter.sendMail({
        from: email.from,
        to: email.to,
        cc: email.cc,
        bcc: email.bcc,
        subject: email.subject,
        text: email.text,
        messageId: email.messageId,
        headers: email.headers,
      })) as SmtpInfo;
      return smtpAccepted(info);
    } catch (error) {
      return smtpFailure(error as SmtpError);
    }
  }

  async close(): Promise<void> {
    this.transporter.close();
  }
}

/** Postmark's HTTP API: `POST {url}/email` with the server token. */
export class PostmarkMailer implements Mailer {
  readonly kind = 'postmark';
  private readonly agent = new Agent({
    headersTimeout: TIMEOUT_MS,
    bodyTimeout: TIMEOUT_MS,
    connect: { timeout: TIMEOUT_MS },
  });
  private readonly endpoint: string;

  constructor(
    baseUrl: string,
    private readonly token: string,
    private readonly stream: string | undefined,
  ) {
    this.endpoint = `${baseUrl.replace(/\/+$/, '')}/email`;
  }

  async send(email: Email): Promise<Outcome> {
    const body: Record<string, unknown> = {
      From: email.from,
      To: email.to.join(', '),
      Subject: email.subject,
      TextBody: email.text,
    };
    if (email.cc.length > 0) body.Cc = email.cc.join(', ');
    if (email.bcc.length > 0) body.Bcc = email.bcc.join(', ');
    if (this.stream !== undefined) body.MessageStream = this.stream;
    try {
      const response = await request(this.endpoint, {
        method: 'POST',
        headers: {
          accept: 'application/json',
          'content-type': 'application/json',
          'x-postmark-server-token': this.token,
        },
        body: JSON.stringify(body),
        dispatcher: this.agent,
      });
      const text = (await response.body.text()).slice(0, RESPONSE_CAP);
      return postmarkResult(response.statusCode, text);
    } catch (error) {
      const err = error as Error & { code?: string };
      const timedOut = /Timeout/i.test(err.name) || err.code?.includes('TIMEOUT') === true;
      return unanswered(
        timedOut ? 'timeout' : 'network-error',
        `Postmark ${timedOut ? 'timeout' : 'network error'}: ${err.code ? `${err.code} ` : ''}${err.message}`,
      );
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/**
 * No mailer configured: one info line per email with its recipients and subject (never the
 * body, which may hold personal data), recorded as a successful attempt.
 */
export class LoggingMailer implements Mailer {
  readonly kind = 'log';
  constructor(private readonly log: Logger) {}

  async send(email: Email): Promise<Outcome> {
    this.log.info(
      { to: email.to, cc: email.cc, bcc: email.bcc, subject: email.subject },
      'email not sent: no mailer configured (SWITCHBOARD_SMTP_URL or SWITCHBOARD_POSTMARK_TOKEN)',
    );
    return answered(200, JSON.stringify({ logged: true, to: email.to, subject: email.subject }));
  }
}

/**
 * `mailto:` endpoints: the payload as an email. The addresses, subject and body are templates
 * filled from the JSON payload; a template naming a missing field fails the attempt for good
 * (422, not retried: the same payload will never have it).
 */
export class EmailTransport implements Transport {
  constructor(
    private readonly mailer: Mailer,
    private readonly from: string,
  ) {}

  send({ target, message }: Delivery): Promise<SendResult> {
    return timed(async () => {
      let rendered: RenderedEmail;
      try {
        const destination = parseDestination(target.url);
        if (destination.kind !== 'mailto') throw new DestinationError('not a mailto: URL');
        rendered = renderEmail(destination.mailto, message.payload, message.eventType);
      } catch (error) {
        if (error instanceof TemplateError) return answered(422, error.message);
        return refusedOutcome(`invalid mailto endpoint URL: ${(error as Error).message}`);
      }
      return this.mailer.send({
        ...rendered,
        from: this.from,
        messageId: `<${message.id}.${target.id}@switchboard>`,
        headers: {
          'X-Switchboard-Message-Id': message.id,
          'X-Switchboard-Event-Type': message.eventType,
        },
      });
    });
  }

  async close(): Promise<void> {
    await this.mailer.close?.();
  }
}
