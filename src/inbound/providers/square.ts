import { type Static, Type } from '@sinclair/typebox';
import { jsonObject, SecretString, textAt, verifyHeaderHmac } from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * Square: `x-square-hmacsha256-signature` = base64 HMAC-SHA256 over the notification URL (as
 * registered in the subscription, byte for byte) followed by the raw body. The URL defaults to
 * the URL the request arrived at; set `notificationUrl` when Square was given a different
 * spelling (another host name, a trailing slash…).
 */
const configSchema = Type.Object(
  {
    secret: SecretString('Signature key of the Square webhook subscription'),
    notificationUrl: Type.Optional(
      Type.String({ minLength: 1, description: 'The notification URL exactly as registered' }),
    ),
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const square: Provider<Config> = {
  type: 'square',
  configSchema,
  secretFields: ['secret'],
  verify(request, config) {
    const url = config.notificationUrl ?? request.url;
    return verifyHeaderHmac(request, {
      header: 'x-square-hmacsha256-signature',
      algorithm: 'sha256',
      encoding: 'base64',
      keys: [config.secret],
      content: Buffer.concat([Buffer.from(url, 'utf8'), request.body]),
    });
  },
  eventId: (request) => textAt(jsonObject(request.body), 'event_id'),
  eventType: (request) => textAt(jsonObject(request.body), 'type'),
};
