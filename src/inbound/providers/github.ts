import { type Static, Type } from '@sinclair/typebox';
import { OK } from './crypto.js';
import { SecretString, verifyHeaderHmac } from './crypto-extra.js';
import { type Provider, singleHeader } from './types.js';

/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` keyed with the
 * webhook secret (UTF-8). The secret is optional, as on GitHub: a webhook without one is sent
 * unsigned, so a source without one accepts deliveries unverified. No timestamp is signed;
 * replays are caught by de-duplication on `X-GitHub-Delivery`.
 */
const configSchema = Type.Object(
  {
    secret: Type.Optional(Type.Union([SecretString('Webhook secret'), Type.Null()])),
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const github: Provider<Config> = {
  type: 'github',
  configSchema,
  secretFields: ['secret'],
  verify(request, config) {
    if (!config.secret) return OK;
    return verifyHeaderHmac(request, {
      header: 'x-hub-signature-256',
      algorithm: 'sha256',
      encoding: 'hex',
      prefix: 'sha256=',
      keys: [config.secret],
    });
  },
  eventId: (request) => singleHeader(request, 'x-github-delivery'),
  eventType: (request) => singleHeader(request, 'x-github-event'),
};
