import { type Static, Type } from '@sinclair/typebox';
import { fail, hash, OK, safeEqual } from './crypto.js';
import {
  jsonObject,
  requireHeader,
  SecretString,
  textAt,
  verifyHeaderHmac,
} from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * Nango: `X-Nango-Hmac-Sha256` = hex HMAC-SHA256 of the raw body keyed with the environment's
 * secret key. Older Nango versions send only the legacy `X-Nango-Signature` = hex SHA-256 of
 * `secret + body` (a plain hash), checked when the HMAC header is absent. Event type: `type`
 * (`auth`, `sync`, `forward`), with the `operation` when there is one (`auth.creation`).
 */
const configSchema = Type.Object(
  { secret: SecretString('Secret key of the Nango environment') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const nango: Provider<Config> = {
  type: 'nango',
  configSchema,
  secretFields: ['secret'],
  verify(request, config) {
    if (request.headers['x-nango-hmac-sha256'] !== undefined) {
      return verifyHeaderHmac(request, {
        header: 'x-nango-hmac-sha256',
        algorithm: 'sha256',
        encoding: 'hex',
        keys: [config.secret],
      });
    }
    const legacy = requireHeader(request, 'x-nango-signature');
    if ('error' in legacy) return fail('missing x-nango-hmac-sha256 header');
    const expected = hash('sha256', Buffer.concat([Buffer.from(config.secret), request.body]));
    return safeEqual(expected.toString('hex'), legacy.value.trim().toLowerCase())
      ? OK
      : fail('signature mismatch');
  },
  eventId: () => undefined,
  eventType(request) {
    const body = jsonObject(request.body);
    const type = textAt(body, 'type');
    const operation = textAt(body, 'operation');
    return type !== undefined && operation !== undefined ? `${type}.${operation}` : type;
  },
};
