import { type Static, Type } from '@sinclair/typebox';
import { fail, hmac, OK, safeEqual } from './crypto.js';
import {
  checkTimestampMs,
  effectiveTolerance,
  jsonObject,
  parseRfc3339,
  requireHeader,
  safeChallenge,
  ToleranceSeconds,
  textAt,
} from './crypto-extra.js';
import { type InboundRequest, type Provider, singleHeader } from './types.js';

/**
 * Twitch EventSub: `Twitch-Eventsub-Message-Signature: sha256=<hex>` over
 * `messageId + timestamp + rawBody` (header strings verbatim, no separators), keyed with the
 * secret given when the subscription was created. The timestamp is RFC 3339 with nanoseconds;
 * Twitch's sample rejects messages older than 10 minutes. A `webhook_callback_verification`
 * message is answered with its raw `challenge` as text/plain.
 */
const DEFAULT_TOLERANCE = 600;

const configSchema = Type.Object(
  {
    secret: Type.String({
      minLength: 10,
      maxLength: 100,
      description: 'The subscription secret (10–100 ASCII characters)',
    }),
    toleranceSeconds: ToleranceSeconds,
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

const MESSAGE_TYPE = 'twitch-eventsub-message-type';

function messageType(request: InboundRequest): string | undefined {
  return singleHeader(request, MESSAGE_TYPE)?.toLowerCase();
}

export const twitch: Provider<Config> = {
  type: 'twitch',
  configSchema,
  secretFields: ['secret'],
  defaultToleranceSeconds: DEFAULT_TOLERANCE,
  verify(request, config, now, toleranceSeconds) {
    const id = requireHeader(request, 'twitch-eventsub-message-id');
    if ('error' in id) return id.error;
    const timestamp = requireHeader(request, 'twitch-eventsub-message-timestamp');
    if ('error' in timestamp) return timestamp.error;
    const signature = requireHeader(request, 'twitch-eventsub-message-signature');
    if ('error' in signature) return signature.error;
    const time = checkTimestampMs(
      parseRfc3339(timestamp.value),
      now,
      effectiveTolerance(config, toleranceSeconds, DEFAULT_TOLERANCE),
    );
    if (!time.ok) return time;
    const content = Buffer.concat([Buffer.from(id.value + timestamp.value, 'utf8'), request.body]);
    const expected = `sha256=${hmac('sha256', config.secret, content).toString('hex')}`;
    return safeEqual(expected, signature.value.trim().toLowerCase())
      ? OK
      : fail('signature mismatch');
  },
  handshake(request) {
    if (request.method.toUpperCase() !== 'POST') return undefined;
    if (messageType(request) !== 'webhook_callback_verification') return undefined;
    const challenge = safeChallenge(textAt(jsonObject(request.body), 'challenge'));
    if (challenge === undefined) return { status: 400, body: '' };
    return { status: 200, headers: { 'content-type': 'text/plain' }, body: challenge };
  },
  eventId: (request) => singleHeader(request, 'twitch-eventsub-message-id'),
  /**
   * The subscription type (`channel.follow`…) for notifications; `revocation` for revocation
   * messages, so a revoked subscription is never mistaken for one of its events.
   */
  eventType(request) {
    const type = messageType(request);
    if (type === 'revocation') return 'revocation';
    if (type === 'webhook_callback_verification') return 'webhook_callback_verification';
    return (
      singleHeader(request, 'twitch-eventsub-subscription-type') ??
      textAt(jsonObject(request.body), 'subscription.type')
    );
  },
};
