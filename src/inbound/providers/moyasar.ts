import { type Static, Type } from '@sinclair/typebox';
import { fail, OK } from './crypto.js';
import { getPath, jsonObject, SecretString, textAt, tokenMatches } from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * Moyasar: no signature; the webhook's "Secret Token" travels in the JSON body as
 * `secret_token` and is compared in constant time. Moyasar's own plugins then re-fetch the
 * payment from the API before fulfilling, which downstream consumers should do too. The
 * one-time `webhook_verification` event (whose `data.verification_code` must be POSTed back to
 * Moyasar's API) is stored like any other event for that reason: the gateway makes no calls.
 */
const configSchema = Type.Object(
  { secret: SecretString('Secret Token of the Moyasar webhook') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const moyasar: Provider<Config> = {
  type: 'moyasar',
  configSchema,
  secretFields: ['secret'],
  verify(request, config) {
    const token = getPath(jsonObject(request.body), 'secret_token');
    if (typeof token !== 'string') {
      tokenMatches(config.secret, undefined);
      return fail('missing secret_token');
    }
    return tokenMatches(config.secret, token) ? OK : fail('wrong secret_token');
  },
  eventId: (request) => textAt(jsonObject(request.body), 'id'),
  eventType: (request) => textAt(jsonObject(request.body), 'type'),
};
