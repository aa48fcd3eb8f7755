import { type Static, Type } from '@sinclair/typebox';
import { jsonObject, SecretString, textAt, verifyHeaderHmac } from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * Veriff: `X-HMAC-SIGNATURE` = hex HMAC-SHA256 of the raw body keyed with the integration's
 * shared secret key (`X-AUTH-CLIENT` carries the public API key, not checked). Event webhooks
 * name an `action` (`started`, `submitted`); decision webhooks a `verification.status`.
 * Veriff sends no event id.
 */
const configSchema = Type.Object(
  { secret: SecretString('Shared secret key of the integration') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const veriff: Provider<Config> = {
  type: 'veriff',
  configSchema,
  secretFields: ['secret'],
  verify: (request, config) =>
    verifyHeaderHmac(request, {
      header: 'x-hmac-signature',
      algorithm: 'sha256',
      encoding: 'hex',
      keys: [config.secret],
    }),
  eventId: () => undefined,
  eventType(request) {
    const body = jsonObject(request.body);
    return textAt(body, 'action') ?? textAt(body, 'verification.status');
  },
};
