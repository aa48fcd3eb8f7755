import { type Static, Type } from '@sinclair/typebox';
import { jsonObject, SecretString, textAt, verifyHeaderHmac } from './crypto-extra.js';
import type { Provider } from './types.js';

/** Intercom: `X-Hub-Signature: sha1=<hex HMAC-SHA1(body)>`, keyed with the app's client secret. */
const configSchema = Type.Object(
  { secret: SecretString('Client secret of the Intercom app') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const intercom: Provider<Config> = {
  type: 'intercom',
  configSchema,
  secretFields: ['secret'],
  verify: (request, config) =>
    verifyHeaderHmac(request, {
      header: 'x-hub-signature',
      algorithm: 'sha1',
      encoding: 'hex',
      prefix: 'sha1=',
      keys: [config.secret],
    }),
  eventId: (request) => textAt(jsonObject(request.body), 'id'),
  eventType: (request) => textAt(jsonObject(request.body), 'topic'),
};
