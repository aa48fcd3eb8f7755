import { type Static, Type } from '@sinclair/typebox';
import { SecretString, verifyHeaderHmac } from './crypto-extra.js';
import { type Provider, singleHeader } from './types.js';

/**
 * Shopify: `X-Shopify-Hmac-Sha256` = base64 HMAC-SHA256 of the raw body, keyed with the app's
 * client secret (or the store's notification signing key). Nothing time-related is signed;
 * replays are caught by de-duplication on `X-Shopify-Webhook-Id` (stable across retries).
 */
const configSchema = Type.Object(
  { secret: SecretString('App client secret or notification signing key') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const shopify: Provider<Config> = {
  type: 'shopify',
  configSchema,
  secretFields: ['secret'],
  verify: (request, config) =>
    verifyHeaderHmac(request, {
      header: 'x-shopify-hmac-sha256',
      algorithm: 'sha256',
      encoding: 'base64',
      keys: [config.secret],
    }),
  eventId: (request) =>
    singleHeader(request, 'x-shopify-webhook-id') ?? singleHeader(request, 'x-shopify-event-id'),
  eventType: (request) => singleHeader(request, 'x-shopify-topic'),
};
