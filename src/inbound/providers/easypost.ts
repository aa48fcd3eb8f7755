import { type Static, Type } from '@sinclair/typebox';
import { OK } from './crypto.js';
import { jsonObject, SecretString, textAt, verifyHeaderHmac } from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * EasyPost: `X-Hmac-Signature: hmac-sha256-hex=<hex HMAC-SHA256 of the raw body>`, keyed with
 * the webhook secret after Unicode NFKD normalisation (as EasyPost's client libraries do).
 * The secret is optional, as in EasyPost: without one nothing is signed. The body is an Event:
 * `id` (`evt_…`) and `description` (`tracker.updated`).
 */
const configSchema = Type.Object(
  { secret: Type.Optional(Type.Union([SecretString('Webhook secret'), Type.Null()])) },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const easypost: Provider<Config> = {
  type: 'easypost',
  configSchema,
  secretFields: ['secret'],
  verify(request, config) {
    if (!config.secret) return OK;
    return verifyHeaderHmac(request, {
      header: 'x-hmac-signature',
      algorithm: 'sha256',
      encoding: 'hex',
      prefix: 'hmac-sha256-hex=',
      keys: [Buffer.from(config.secret.normalize('NFKD'), 'utf8')],
    });
  },
  eventId: (request) => textAt(jsonObject(request.body), 'id'),
  eventType: (request) => textAt(jsonObject(request.body), 'description'),
};
