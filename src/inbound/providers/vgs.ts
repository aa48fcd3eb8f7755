import { type Static, Type } from '@sinclair/typebox';
import { jsonObject, SecretString, textAt, verifyHeaderHmac } from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * VGS (Very Good Security) notifications. Scheme not published (neither by Svix nor in VGS's
 * public docs); we verify `X-VGS-Signature` = hex HMAC-SHA256 of the raw body keyed with the
 * configured secret, optionally prefixed `sha256=`. Notification bodies carry an `id`
 * (`evt_…`) and an `event` (`cmp_au_card.updated`, `route.created`…).
 */
const configSchema = Type.Object(
  { secret: SecretString('Notification signing secret') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const vgs: Provider<Config> = {
  type: 'vgs',
  configSchema,
  secretFields: ['secret'],
  verify(request, config) {
    const value = request.headers['x-vgs-signature'];
    const prefixed = typeof value === 'string' && value.trim().startsWith('sha256=');
    return verifyHeaderHmac(request, {
      header: 'x-vgs-signature',
      algorithm: 'sha256',
      encoding: 'hex',
      prefix: prefixed ? 'sha256=' : '',
      keys: [config.secret],
    });
  },
  eventId: (request) => textAt(jsonObject(request.body), 'id'),
  eventType: (request) => textAt(jsonObject(request.body), 'event'),
};
