import { type Static, Type } from '@sinclair/typebox';
import { checkTimestamp, fail, hmac, OK, safeEqual } from './crypto.js';
import {
  effectiveTolerance,
  jsonObject,
  requireHeader,
  SecretString,
  safeChallenge,
  ToleranceSeconds,
  textAt,
} from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * Zoom: `x-zm-signature: v0=<hex HMAC-SHA256 of "v0:{x-zm-request-timestamp}:{rawBody}">`
 * keyed with the app's secret token. Zoom publishes no replay window; 5 min by default. The
 * `endpoint.url_validation` event (signed like any other) is answered after verification
 * with `{plainToken, encryptedToken: hex HMAC-SHA256(secret, plainToken)}`. The event type is
 * the body's `event`; Zoom sends no event id.
 */
const DEFAULT_TOLERANCE = 300;

const configSchema = Type.Object(
  { secret: SecretString('Secret token of the Zoom app'), toleranceSeconds: ToleranceSeconds },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const zoom: Provider<Config> = {
  type: 'zoom',
  configSchema,
  secretFields: ['secret'],
  defaultToleranceSeconds: DEFAULT_TOLERANCE,
  verify(request, config, now, toleranceSeconds) {
    const signature = requireHeader(request, 'x-zm-signature');
    if ('error' in signature) return signature.error;
    const timestamp = requireHeader(request, 'x-zm-request-timestamp');
    if ('error' in timestamp) return timestamp.error;
    const tolerance = effectiveTolerance(config, toleranceSeconds, DEFAULT_TOLERANCE);
    const time = checkTimestamp(timestamp.value, now, tolerance);
    if (!time.ok) return time;
    const content = Buffer.concat([Buffer.from(`v0:${timestamp.value}:`), request.body]);
    const expected = `v0=${hmac('sha256', config.secret, content).toString('hex')}`;
    return safeEqual(expected, signature.value.trim().toLowerCase())
      ? OK
      : fail('signature mismatch');
  },
  handshake(request, config) {
    if (request.method.toUpperCase() !== 'POST') return undefined;
    const body = jsonObject(request.body);
    if (textAt(body, 'event') !== 'endpoint.url_validation') return undefined;
    const plainToken = safeChallenge(textAt(body, 'payload.plainToken'));
    if (plainToken === undefined) return { status: 400 };
    const encryptedToken = hmac('sha256', config.secret, plainToken).toString('hex');
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ plainToken, encryptedToken }),
    };
  },
  eventId: () => undefined,
  eventType: (request) => textAt(jsonObject(request.body), 'event'),
};
