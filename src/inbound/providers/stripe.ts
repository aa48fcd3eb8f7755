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
    const header = requireHeader(request, 'stripe-signature');
    if ('error' in header) return header.error;
    const parts = parseKeyValueList(header.value, ',');
    const timestamps = parts.get('t') ?? [];
    const signatures = (parts.get('v1') ?? []).map((s) => s.toLowerCase());
    if (timestamps.length !== 1 || signatures.length === 0) {
      return fail('malformed Stripe-Signature');
    }
    const t = timestamps[0] as string;
    const tolerance = effectiveTolerance(config, toleranceSeconds, DEFAULT_TOLERANCE);
    const time = checkTimestamp(t, now, tolerance);
    if (!time.ok) return time;
    const content = Buffer.concat([Buffer.from(`${t}.`), request.body]);
    const expected = hmac('sha256', config.secret, content).toString('hex');
    return matchesAny(expected, signatures) ? OK : fail('signature mismatch');
  },
  eventId: (request) => textAt(jsonObject(request.body), 'id'),
  eventType: (request) => textAt(jsonObject(request.body), 'type'),
};
