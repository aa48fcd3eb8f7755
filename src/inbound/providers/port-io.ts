import { type Static, Type } from '@sinclair/typebox';
import { checkTimestamp, fail, hmac, matchesAny, OK } from './crypto.js';
import {
  effectiveTolerance,
  jsonObject,
  requireHeader,
  SecretString,
  ToleranceSeconds,
  textAt,
} from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * Port (port.io): `x-port-timestamp` (seconds) and `x-port-signature: v1,<base64 HMAC-SHA256
 * of "{timestamp}.{rawBody}">` keyed with the organisation's client secret (docs.port.io
 * "Validating Webhook signatures"); several space-separated entries are accepted. 5 min
 * window. Action runs carry `context.runId` and `action.identifier`.
 */
const DEFAULT_TOLERANCE = 300;

const configSchema = Type.Object(
  {
    secret: SecretString('Client secret of the Port organisation'),
    toleranceSeconds: ToleranceSeconds,
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const portIo: Provider<Config> = {
  type: 'port-io',
  configSchema,
  secretFields: ['secret'],
  defaultToleranceSeconds: DEFAULT_TOLERANCE,
  verify(request, config, now, toleranceSeconds) {
    const signature = requireHeader(request, 'x-port-signature');
    if ('error' in signature) return signature.error;
    const timestamp = requireHeader(request, 'x-port-timestamp');
    if ('error' in timestamp) return timestamp.error;
    const tolerance = effectiveTolerance(config, toleranceSeconds, DEFAULT_TOLERANCE);
    const time = checkTimestamp(timestamp.value, now, tolerance);
    if (!time.ok) return time;
    const received = signature.value
      .split(' ')
      .filter((entry) => entry.startsWith('v1,'))
      .map((entry) => entry.slice(3));
    if (received.length === 0) return fail('no v1 signature in x-port-signature');
    const content = Buffer.concat([Buffer.from(`${timestamp.value}.`), request.body]);
    const expected = hmac('sha256', config.secret, content).toString('base64');
    return matchesAny(expected, received) ? OK : fail('signature mismatch');
  },
  eventId: (request) => textAt(jsonObject(request.body), 'context.runId'),
  eventType(request) {
    const body = jsonObject(request.body);
    return textAt(body, 'action.identifier') ?? textAt(body, 'action');
  },
};
