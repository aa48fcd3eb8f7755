import { type Static, Type } from '@sinclair/typebox';
import { fail, OK } from './crypto.js';
import {
  jsonObject,
  requireHeader,
  SecretString,
  textAt,
  tokenMatches,
  verifyHeaderHmac,
} from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * Vapi server messages. Which of Vapi's two schemes Svix checks is not published; we accept
 * either, keyed with the same secret:
 * - an HMAC credential: `x-vapi-signature` = hex HMAC-SHA256 of the raw body (no timestamp);
 * - the legacy server secret: `x-vapi-secret` holding the secret verbatim (constant-time).
 * When `x-vapi-signature` is present it must match. Event type: `message.type`.
 */
const configSchema = Type.Object(
  { secret: SecretString('HMAC credential secret, or the legacy server URL secret') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const vapi: Provider<Config> = {
  type: 'vapi',
  configSchema,
  secretFields: ['secret'],
  verify(request, config) {
    if (request.headers['x-vapi-signature'] !== undefined) {
      return verifyHeaderHmac(request, {
        header: 'x-vapi-signature',
        algorithm: 'sha256',
        encoding: 'hex',
        keys: [config.secret],
      });
    }
    const secret = requireHeader(request, 'x-vapi-secret');
    if ('error' in secret) return fail('missing x-vapi-signature or x-vapi-secret header');
    return tokenMatches(config.secret, secret.value) ? OK : fail('wrong x-vapi-secret');
  },
  eventId: () => undefined,
  eventType: (request) => textAt(jsonObject(request.body), 'message.type'),
};
