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
 * Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…][,v0=…]`, hex HMAC-SHA256 of
 * `"{t}.{rawBody}"` keyed with the endpoint secret used as-is (`whsec_…` as UTF-8, not
 * base64-decoded). Any `v1` may match (secret rotation); other schemes are ignored. Stripe's
 * SDK tolerance is 300 s.
 */
const DEFAULT_TOLERANCE = 300;

const configSchema = Type.Object(
  { secret: SecretString('Endpoint signing secret (whsec_…)'), toleranceSeconds: ToleranceSeconds },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const stripe: Provider<Config> = {
  type: 'stripe',
  configSchema,
  secretFields: ['secret'],
  defaultToleranceSeconds: DEFAULT_TOLERANCE,
  verify(request, config, now, toleranceSeconds) {
    return verifyKeyValueHmac(
      request,
      config.secret,
      {
        header: 'stripe-signature',
        separator: ',',
        timestampKey: 't',
        signatureKey: 'v1',
        joiner: '.',
      },
      now,
      effectiveTolerance(config, toleranceSeconds, DEFAULT_TOLERANCE),
    );
  },
  eventId: (request) => textAt(jsonObject(request.body), 'id'),
  eventType: (request) => textAt(jsonObject(request.body), 'type'),
};
