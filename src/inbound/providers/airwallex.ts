import { type Static, Type } from '@sinclair/typebox';
import { fail, hmac, OK, safeEqual } from './crypto.js';
import {
  checkTimestampMs,
  effectiveTolerance,
  jsonObject,
  parseEpochMs,
  requireHeader,
  SecretString,
  ToleranceSeconds,
  textAt,
} from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * Airwallex: `x-signature` = hex HMAC-SHA256 of `x-timestamp + rawBody` (no separator) keyed
 * with the webhook's secret; `x-timestamp` is in milliseconds and must be within 5 min.
 * Event: body `id` and `name` (`payment_intent.succeeded`).
 */
const DEFAULT_TOLERANCE = 300;

const configSchema = Type.Object(
  { secret: SecretString('Secret of the webhook'), toleranceSeconds: ToleranceSeconds },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const airwallex: Provider<Config> = {
  type: 'airwallex',
  configSchema,
  secretFields: ['secret'],
  defaultToleranceSeconds: DEFAULT_TOLERANCE,
  verify(request, config, now, toleranceSeconds) {
    const signature = requireHeader(request, 'x-signature');
    if ('error' in signature) return signature.error;
    const timestamp = requireHeader(request, 'x-timestamp');
    if ('error' in timestamp) return timestamp.error;
    const tolerance = effectiveTolerance(config, toleranceSeconds, DEFAULT_TOLERANCE);
    const time = checkTimestampMs(parseEpochMs(timestamp.value), now, tolerance);
    if (!time.ok) return time;
    const content = Buffer.concat([Buffer.from(timestamp.value), request.body]);
    const expected = hmac('sha256', config.secret, content).toString('hex');
    return safeEqual(expected, signature.value.trim().toLowerCase())
      ? OK
      : fail('signature mismatch');
  },
  eventId: (request) => textAt(jsonObject(request.body), 'id'),
  eventType: (request) => textAt(jsonObject(request.body), 'name'),
};
