import { type Static, Type } from '@sinclair/typebox';
import { checkTimestamp, fail, OK } from './crypto.js';
import {
  commonValue,
  effectiveTolerance,
  parseJson,
  requireHeader,
  spkiPublicKey,
  ToleranceSeconds,
  textAt,
  verifyEcdsaSha256,
} from './crypto-extra.js';
import type { InboundRequest, Provider } from './types.js';

/**
 * SendGrid Signed Event Webhook: `X-Twilio-Email-Event-Webhook-Signature` is a base64 DER
 * ECDSA P-256/SHA-256 signature over `timestamp + rawBody`, the timestamp coming from
 * `X-Twilio-Email-Event-Webhook-Timestamp`; verified with the public key shown in Mail
 * Settings (base64 DER SubjectPublicKeyInfo, PEM also accepted). SendGrid sets no replay
 * window: the timestamp is bounded only when the source sets `toleranceSeconds`.
 */
const configSchema = Type.Object(
  {
    publicKey: Type.String({
      minLength: 1,
      description: 'Verification key from Mail Settings › Event Webhook (base64 DER or PEM)',
    }),
    toleranceSeconds: ToleranceSeconds,
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

const SIGNATURE = 'x-twilio-email-event-webhook-signature';
const TIMESTAMP = 'x-twilio-email-event-webhook-timestamp';

function events(request: InboundRequest): unknown[] {
  const body = parseJson(request.body);
  return Array.isArray(body) ? body : [];
}

export const sendgrid: Provider<Config> = {
  type: 'sendgrid',
  configSchema,
  secretFields: [],
  verify(request, config, now, toleranceSeconds) {
    const signature = requireHeader(request, SIGNATURE);
    if ('error' in signature) return signature.error;
    const timestamp = requireHeader(request, TIMESTAMP);
    if ('error' in timestamp) return timestamp.error;
    const time = checkTimestamp(
      timestamp.value,
      now,
      effectiveTolerance(config, toleranceSeconds, undefined),
    );
    if (!time.ok) return time;
    const key = spkiPublicKey(config.publicKey);
    if (key === undefined) return fail('the configured public key cannot be read');
    const message = Buffer.concat([Buffer.from(timestamp.value, 'utf8'), request.body]);
    return verifyEcdsaSha256(key, message, signature.value) ? OK : fail('signature mismatch');
  },
  /** The body is an array of events: the `sg_event_id` when it holds exactly one. */
  eventId(request) {
    const list = events(request);
    return list.length === 1 ? textAt(list[0], 'sg_event_id') : undefined;
  },
  /** The `event` (`delivered`, `open`…) when every event of the batch has the same one. */
  eventType: (request) => commonValue(events(request).map((event) => textAt(event, 'event'))),
};
