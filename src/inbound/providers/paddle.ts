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
 * Paddle Billing: `Paddle-Signature: ts=<unix>;h1=<hex>[;h1=…]`, hex HMAC-SHA256 over
 * `"{ts}:{rawBody}"` with the notification destination's secret key. Paddle's SDK allows only
 * 5 s of clock difference, which is the default here (configurable per source).
 */
const DEFAULT_TOLERANCE = 5;

const configSchema = Type.Object(
  {
    secret: SecretString('Secret key of the notification destination (pdl_ntfset_…)'),
    toleranceSeconds: ToleranceSeconds,
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const paddle: Provider<Config> = {
  type: 'paddle',
  configSchema,
  secretFields: ['secret'],
  defaultToleranceSeconds: DEFAULT_TOLERANCE,
  verify(request, config, now, toleranceSeconds) {
    return verifyKeyValueHmac(
      request,
      config.secret,
      {
        header: 'paddle-signature',
        separator: ';',
        timestampKey: 'ts',
        signatureKey: 'h1',
        joiner: ':',
      },
      now,
      effectiveTolerance(config, toleranceSeconds, DEFAULT_TOLERANCE),
    );
  },
  eventId: (request) => textAt(jsonObject(request.body), 'event_id'),
  eventType: (request) => textAt(jsonObject(request.body), 'event_type'),
};
