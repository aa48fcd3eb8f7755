import { type Static, Type } from '@sinclair/typebox';
import { fail, OK } from './crypto.js';
import {
  commonValue,
  getPath,
  jsonObject,
  requireHeader,
  SecretString,
  safeChallenge,
  textAt,
  tokenMatches,
} from './crypto-extra.js';
import { type Provider, singleHeader } from './types.js';

/**
 * Okta Event Hooks: every delivery carries the configured authentication header (by default
 * `Authorization`) with the configured secret verbatim (constant-time compare). The one-time
 * verification is a GET with `X-Okta-Verification-Challenge`, answered with JSON
 * `{"verification": "<value>"}`.
 */
const configSchema = Type.Object(
  {
    secret: SecretString('The authentication field value configured on the event hook'),
    header: Type.Optional(
      Type.String({
        minLength: 1,
        pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
        description: 'Authentication field name (default `Authorization`)',
      }),
    ),
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const okta: Provider<Config> = {
  type: 'okta',
  configSchema,
  secretFields: ['secret'],
  verify(request, config) {
    const name = (config.header ?? 'authorization').toLowerCase();
    const header = requireHeader(request, name);
    if ('error' in header) return header.error;
    return tokenMatches(config.secret, header.value) ? OK : fail(`wrong ${name} header`);
  },
  handshake(request) {
    if (request.method.toUpperCase() !== 'GET') return undefined;
    const challenge = safeChallenge(singleHeader(request, 'x-okta-verification-challenge'));
    if (challenge === undefined) return undefined;
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ verification: challenge }),
    };
  },
  eventId: (request) => textAt(jsonObject(request.body), 'eventId'),
  /** The Okta event type (`user.session.start`…) shared by every event of the delivery. */
  eventType(request) {
    const events = getPath(jsonObject(request.body), 'data.events');
    if (!Array.isArray(events)) return undefined;
    return commonValue(events.map((event) => textAt(event, 'eventType')));
  },
};
