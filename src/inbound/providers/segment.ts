import { type Static, Type } from '@sinclair/typebox';
import { OK } from './crypto.js';
import { jsonObject, SecretString, textAt, verifyHeaderHmac } from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * Segment (Webhooks destination): `X-Signature` = hex HMAC-SHA1 of the raw body keyed with the
 * destination's shared secret. The secret is optional, as in Segment: without one nothing is
 * signed and deliveries are accepted unverified. Event id: the message's `messageId`.
 */
const configSchema = Type.Object(
  { secret: Type.Optional(Type.Union([SecretString('Shared secret'), Type.Null()])) },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const segment: Provider<Config> = {
  type: 'segment',
  configSchema,
  secretFields: ['secret'],
  verify(request, config) {
    if (!config.secret) return OK;
    return verifyHeaderHmac(request, {
      header: 'x-signature',
      algorithm: 'sha1',
      encoding: 'hex',
      keys: [config.secret],
    });
  },
  eventId: (request) => textAt(jsonObject(request.body), 'messageId'),
  eventType: (request) => textAt(jsonObject(request.body), 'type'),
};
