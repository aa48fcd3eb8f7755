import { type Static, Type } from '@sinclair/typebox';
import { fail, OK } from './crypto.js';
import { SecretString, tokenMatches } from './crypto-extra.js';
import { type Provider, singleHeader } from './types.js';

/**
 * OpenClaw gateway hooks. Scheme not published by Svix; we verify the hook token OpenClaw
 * gateways send (per third-party integration guides, no signature): `x-openclaw-token:
 * <secret>` or `Authorization: Bearer <secret>`, compared in constant time. A doubled header
 * fails. OpenClaw names no event id or type.
 */
const configSchema = Type.Object(
  { secret: SecretString('Hook token of the OpenClaw gateway') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const openclaw: Provider<Config> = {
  type: 'openclaw',
  configSchema,
  secretFields: ['secret'],
  verify(request, config) {
    if (Array.isArray(request.headers['x-openclaw-token']))
      return fail('repeated x-openclaw-token header');
    if (Array.isArray(request.headers.authorization)) return fail('repeated authorization header');
    const direct = singleHeader(request, 'x-openclaw-token');
    const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(
      singleHeader(request, 'authorization') ?? '',
    )?.[1];
    const received = direct ?? bearer;
    if (received === undefined || received === '') {
      tokenMatches(config.secret, undefined);
      return fail('missing x-openclaw-token or bearer token');
    }
    return tokenMatches(config.secret, received) ? OK : fail('wrong hook token');
  },
  eventId: () => undefined,
  eventType: () => undefined,
};
