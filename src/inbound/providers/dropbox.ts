import { type Static, Type } from '@sinclair/typebox';
import {
  getPath,
  jsonObject,
  SecretString,
  safeChallenge,
  verifyHeaderHmac,
} from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * Dropbox: GET `?challenge=…` is answered by echoing the challenge as text/plain with
 * `X-Content-Type-Options: nosniff`; notifications carry `X-Dropbox-Signature` = hex
 * HMAC-SHA256 of the raw body keyed with the app secret. Notifications only say "something
 * changed" (no event id; the app fetches with its cursor).
 */
const configSchema = Type.Object(
  { secret: SecretString('App secret of the Dropbox app') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const dropbox: Provider<Config> = {
  type: 'dropbox',
  configSchema,
  secretFields: ['secret'],
  verify: (request, config) =>
    verifyHeaderHmac(request, {
      header: 'x-dropbox-signature',
      algorithm: 'sha256',
      encoding: 'hex',
      keys: [config.secret],
    }),
  handshake(request) {
    if (request.method.toUpperCase() !== 'GET') return undefined;
    const challenge = safeChallenge(request.query.get('challenge') ?? undefined);
    if (challenge === undefined) return undefined;
    return {
      status: 200,
      headers: { 'content-type': 'text/plain', 'x-content-type-options': 'nosniff' },
      body: challenge,
    };
  },
  eventId: () => undefined,
  eventType(request) {
    const body = jsonObject(request.body);
    if (getPath(body, 'list_folder') !== undefined) return 'list_folder';
    if (getPath(body, 'delta') !== undefined) return 'delta';
    return undefined;
  },
};
