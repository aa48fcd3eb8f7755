import { type Static, Type } from '@sinclair/typebox';
import { jsonObject, SecretString, textAt, verifyHeaderHmac } from './crypto-extra.js';
import { type Provider, singleHeader } from './types.js';

/** Razorpay: `X-Razorpay-Signature` = hex HMAC-SHA256 of the body with the webhook secret. */
const configSchema = Type.Object(
  { secret: SecretString('Webhook secret (not the API key secret)') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const razorpay: Provider<Config> = {
  type: 'razorpay',
  configSchema,
  secretFields: ['secret'],
  verify: (request, config) =>
    verifyHeaderHmac(request, {
      header: 'x-razorpay-signature',
      algorithm: 'sha256',
      encoding: 'hex',
      keys: [config.secret],
    }),
  eventId: (request) => singleHeader(request, 'x-razorpay-event-id'),
  eventType: (request) => textAt(jsonObject(request.body), 'event'),
};
