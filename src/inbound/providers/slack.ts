import { type Static, Type } from '@sinclair/typebox';
import { checkTimestamp, fail, hmac, OK, safeEqual } from './crypto.js';
import {
  bodyRecord,
  effectiveTolerance,
  getPath,
  jsonObject,
  parseJson,
  requireHeader,
  SecretString,
  safeChallenge,
  ToleranceSeconds,
  textAt,
} from './crypto-extra.js';
import type { InboundRequest, Provider } from './types.js';

/**
 * Slack (Events API, slash commands, interactivity): `X-Slack-Signature: v0=<hex HMAC-SHA256
 * of "v0:{X-Slack-Request-Timestamp}:{rawBody}">` keyed with the app's signing secret, the
 * timestamp within 5 min (Bolt's window). Handshakes after a good signature: the Events API
 * `url_verification` is answered with its `challenge`; a slash command `ssl_check=1` with 200.
 */
const DEFAULT_TOLERANCE = 300;

const configSchema = Type.Object(
  { secret: SecretString('Signing secret of the Slack app'), toleranceSeconds: ToleranceSeconds },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

/** An interactivity payload (`payload=<json>` form field), or undefined. */
function interactivePayload(request: InboundRequest): unknown {
  const payload = getPath(bodyRecord(request), 'payload');
  return typeof payload === 'string' ? parseJson(Buffer.from(payload)) : undefined;
}

export const slack: Provider<Config> = {
  type: 'slack',
  configSchema,
  secretFields: ['secret'],
  defaultToleranceSeconds: DEFAULT_TOLERANCE,
  verify(request, config, now, toleranceSeconds) {
    const signature = requireHeader(request, 'x-slack-signature');
    if ('error' in signature) return signature.error;
    const timestamp = requireHeader(request, 'x-slack-request-timestamp');
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
  handshake(request) {
    if (request.method.toUpperCase() !== 'POST') return undefined;
    const json = jsonObject(request.body);
    if (json?.type === 'url_verification') {
      const challenge = safeChallenge(textAt(json, 'challenge'));
      if (challenge === undefined) return { status: 400 };
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ challenge }),
      };
    }
    if (json === undefined && getPath(bodyRecord(request), 'ssl_check') === '1') {
      return { status: 200 };
    }
    return undefined;
  },
  eventId: (request) => textAt(jsonObject(request.body), 'event_id'),
  eventType(request) {
    const json = jsonObject(request.body);
    if (json) return textAt(json, 'event.type') ?? textAt(json, 'type');
    const interactive = interactivePayload(request);
    if (interactive !== undefined) return textAt(interactive, 'type');
    return textAt(bodyRecord(request), 'command');
  },
};
