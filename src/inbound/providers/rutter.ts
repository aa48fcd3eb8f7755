import { type Static, Type } from '@sinclair/typebox';
import { jsonObject, SecretString, textAt, verifyHeaderHmac } from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * Rutter: `X-Rutter-Signature: sha256=<base64 HMAC-SHA256 of the raw body>` keyed with the
 * organisation's client secret (docs.rutterapi.com "Webhook Security"). The body names the
 * event by `type` and `code` (`CONNECTION` / `INITIAL_UPDATE`); there is no event id.
 */
const configSchema = Type.Object(
  { secret: SecretString('Client secret of the Rutter organisation') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const rutter: Provider<Config> = {
  type: 'rutter',
  configSchema,
  secretFields: ['secret'],
  verify: (request, config) =>
    verifyHeaderHmac(request, {
      header: 'x-rutter-signature',
      algorithm: 'sha256',
      encoding: 'base64',
      prefix: 'sha256=',
      keys: [config.secret],
    }),
  eventId: () => undefined,
  eventType(request) {
    const body = jsonObject(request.body);
    const type = textAt(body, 'type');
    const code = textAt(body, 'code');
    return type !== undefined && code !== undefined ? `${type}.${code}` : type;
  },
};
