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
    const header = requireHeader(request, 'paddle-signature');
    if ('error' in header) return header.error;
    const parts = parseKeyValueList(header.value, ';');
    const timestamps = parts.get('ts') ?? [];
    const signatures = (parts.get('h1') ?? []).map((s) => s.toLowerCase());
    if (timestamps.length !== 1 || signatures.length === 0) {
      return fail('malformed Paddle-Signature');
    }
    const ts = timestamps[0] as string;
    const tolerance = effectiveTolerance(config, toleranceSeconds, DEFAULT_TOLERANCE);
    const time = checkTimestamp(ts, now, tolerance);
    if (!time.ok) return time;
    const content = Buffer.concat([Buffer.from(`${ts}:`), request.body]);
    const expected = hmac('sha256', config.secret, content).toString('hex');
    return matchesAny(expected, signatures) ? OK : fail('signature mismatch');
  },
  eventId: (request) => textAt(jsonObject(request.body), 'event_id'),
  eventType: (request) => textAt(jsonObject(request.body), 'event_type'),
};
