import { type Static, Type } from '@sinclair/typebox';
import {
  effectiveTolerance,
  jsonObject,
  SecretString,
  ToleranceSeconds,
  textAt,
  verifyKeyValueHmac,
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
    return verifyKeyValueHmac(
      request,
      config.secret,
      {
        header: 'calendly-webhook-signature',
        separator: ',',
        timestampKey: 't',
        signatureKey: 'v1',
        joiner: '.',
      },
      now,
      effectiveTolerance(config, toleranceSeconds, DEFAULT_TOLERANCE),
    );
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
