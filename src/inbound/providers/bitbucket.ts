import { type Static, Type } from '@sinclair/typebox';
import { SecretString, verifyHeaderHmac } from './crypto-extra.js';
import { type Provider, singleHeader } from './types.js';

/**
 * Bitbucket Cloud: `X-Hub-Signature: sha256=<hex HMAC-SHA256(body)>` (same header name as
 * GitHub's legacy SHA-1 one, but SHA-256). Bitbucket signs only when the webhook has a secret,
 * so a source of this type always requires one.
 */
const configSchema = Type.Object(
  { secret: SecretString('Secret set on the Bitbucket webhook') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const bitbucket: Provider<Config> = {
  type: 'bitbucket',
  configSchema,
  secretFields: ['secret'],
  verify: (request, config) =>
    verifyHeaderHmac(request, {
      header: 'x-hub-signature',
      algorithm: 'sha256',
      encoding: 'hex',
      prefix: 'sha256=',
      keys: [config.secret],
    }),
  eventId: (request) => singleHeader(request, 'x-request-uuid'),
  eventType: (request) => singleHeader(request, 'x-event-key'),
};
