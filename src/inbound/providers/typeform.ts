import { type Static, Type } from '@sinclair/typebox';
import { jsonObject, SecretString, textAt, verifyHeaderHmac } from './crypto-extra.js';
import type { Provider } from './types.js';

/** Typeform: `Typeform-Signature: sha256=<base64 HMAC-SHA256(body)>` with the webhook's secret. */
const configSchema = Type.Object(
  { secret: SecretString('The `secret` set on the Typeform webhook') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const typeform: Provider<Config> = {
  type: 'typeform',
  configSchema,
  secretFields: ['secret'],
  verify: (request, config) =>
    verifyHeaderHmac(request, {
      header: 'typeform-signature',
      algorithm: 'sha256',
      encoding: 'base64',
      prefix: 'sha256=',
      keys: [config.secret],
    }),
  eventId: (request) => textAt(jsonObject(request.body), 'event_id'),
  eventType: (request) => textAt(jsonObject(request.body), 'event_type'),
};
