import { type Static, Type } from '@sinclair/typebox';
import { checkTimestamp, fail, hmac, matchesAny, OK } from './crypto.js';
import {
  effectiveTolerance,
  jsonObject,
  parseKeyValueList,
  requireHeader,
  SecretString,
  ToleranceSeconds,
  textAt,
} from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * Calendly: `Calendly-Webhook-Signature: t=<unix>,v1=<hex>`, hex HMAC-SHA256 over
 * `"{t}.{rawBody}"` with the webhook signing key. Calendly's documented sample allows 3 min.
 */
const DEFAULT_TOLERANCE = 180;

const configSchema = Type.Object(
  {
    secret: SecretString('Webhook signing key of the Calendly subscription'),
    toleranceSeconds: ToleranceSeconds,
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

function eventType(request: { body: Buffer }): string | undefined {
  return textAt(jsonObject(request.body), 'event');
}

export const calendly: Provider<Config> = {
  type: 'calendly',
  configSchema,
  secretFields: ['secret'],
  defaultToleranceSeconds: DEFAULT_TOLERANCE,
  verify(request, config, now, toleranceSeconds) {
    const header = requireHeader(request, 'calendly-webhook-signature');
    if ('error' in header) return header.error;
    const parts = parseKeyValueList(header.value, ',');
    const timestamps = parts.get('t') ?? [];
    const signatures = (parts.get('v1') ?? []).map((s) => s.toLowerCase());
    if (timestamps.length !== 1 || signatures.length === 0) {
      return fail('malformed Calendly-Webhook-Signature');
    }
    const t = timestamps[0] as string;
    const time = checkTimestamp(
      t,
      now,
      effectiveTolerance(config, toleranceSeconds, DEFAULT_TOLERANCE),
    );
    if (!time.ok) return time;
    const content = Buffer.concat([Buffer.from(`${t}.`), request.body]);
    const expected = hmac('sha256', config.secret, content).toString('hex');
    return matchesAny(expected, signatures) ? OK : fail('signature mismatch');
  },
  /** No event id: the event name plus the invitee (or other resource) URI is unique. */
  eventId(request) {
    const body = jsonObject(request.body);
    const event = eventType(request);
    const uri = textAt(body, 'payload.uri');
    return event && uri ? `${event}:${uri}` : undefined;
  },
  eventType,
};
