import { type Static, Type } from '@sinclair/typebox';
import {
  jsonObject,
  SecretString,
  safeChallenge,
  textAt,
  tokenMatches,
  verifyHeaderHmac,
} from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * Meta (Facebook, Instagram, WhatsApp Graph API webhooks). Subscription handshake: a GET with
 * `hub.mode=subscribe`, `hub.verify_token` and `hub.challenge`; when the token equals the
 * configured `verifyToken` the raw challenge is answered with 200, otherwise 403 (as in Meta's
 * sample). Events: POST with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`
 * keyed with the app secret. The body names the `object` (`page`, `whatsapp_business_account`);
 * there is no event id.
 */
const configSchema = Type.Object(
  {
    secret: SecretString('App secret'),
    verifyToken: SecretString('Verify token entered in the webhook subscription'),
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const meta: Provider<Config> = {
  type: 'meta',
  configSchema,
  secretFields: ['secret', 'verifyToken'],
  verify: (request, config) =>
    verifyHeaderHmac(request, {
      header: 'x-hub-signature-256',
      algorithm: 'sha256',
      encoding: 'hex',
      prefix: 'sha256=',
      keys: [config.secret],
    }),
  handshake(request, config) {
    const method = request.method.toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') return undefined;
    if (request.query.get('hub.mode') !== 'subscribe') return undefined;
    const tokens = request.query.getAll('hub.verify_token');
    const challenges = request.query.getAll('hub.challenge');
    const challenge = challenges.length === 1 ? safeChallenge(challenges[0]) : undefined;
    const tokenOk = tokenMatches(config.verifyToken, tokens.length === 1 ? tokens[0] : undefined);
    if (!tokenOk || challenge === undefined) return { status: 403 };
    return {
      status: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
      body: challenge,
    };
  },
  eventId: () => undefined,
  eventType: (request) => textAt(jsonObject(request.body), 'object'),
};
