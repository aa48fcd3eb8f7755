import { type Static, Type } from '@sinclair/typebox';
import { fail, hmac, matchesAny, OK } from './crypto.js';
import { jsonObject, SecretString, textAt } from './crypto-extra.js';
import type { InboundRequest, Provider, VerifyResult } from './types.js';

/**
 * DocuSign Connect HMAC: `X-DocuSign-Signature-1` (…`-N` when the account has several Connect
 * keys) = base64 HMAC-SHA256 of the raw body. Any one header matching the configured key is
 * enough. The key is optional, as in Connect: without one nothing is signed and deliveries are
 * accepted unverified. JSON bodies name the `event` (`envelope-completed`); no event id.
 */
const SIGNATURE_HEADER = /^x-docusign-signature-\d{1,3}$/;

const configSchema = Type.Object(
  { secret: Type.Optional(Type.Union([SecretString('Connect HMAC key'), Type.Null()])) },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

function signatures(request: InboundRequest): string[] | VerifyResult {
  const found: string[] = [];
  for (const [name, value] of Object.entries(request.headers)) {
    if (!SIGNATURE_HEADER.test(name) || value === undefined) continue;
    if (typeof value !== 'string') return fail(`repeated ${name} header`);
    found.push(value.trim());
  }
  return found.length > 0 ? found : fail('missing x-docusign-signature-1 header');
}

export const docusign: Provider<Config> = {
  type: 'docusign',
  configSchema,
  secretFields: ['secret'],
  verify(request, config) {
    if (!config.secret) return OK;
    const received = signatures(request);
    if (!Array.isArray(received)) return received;
    const expected = hmac('sha256', config.secret, request.body).toString('base64');
    return matchesAny(expected, received) ? OK : fail('signature mismatch');
  },
  eventId: () => undefined,
  eventType: (request) => textAt(jsonObject(request.body), 'event'),
};
