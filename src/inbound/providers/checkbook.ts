import { type Static, Type } from '@sinclair/typebox';
import { fail, hmac, matchesAny, OK } from './crypto.js';
import {
  jsonObject,
  parseKeyValueList,
  requireHeader,
  SecretString,
  textAt,
} from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * Checkbook.io: header `signature: nonce=<n>,signature=<hex>`, hex HMAC-SHA256 of
 * `rawBody + nonce` keyed with the environment's webhooks key (docs.checkbook.io "Webhooks",
 * Signature). The nonce is not a timestamp, so there is no replay window; de-duplication is by
 * body hash. The body's `type` is `CHECK`, `INVOICE` or `PREFUND_ACCOUNT`.
 */
const configSchema = Type.Object(
  { secret: SecretString('Webhooks key of the Checkbook environment') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const checkbook: Provider<Config> = {
  type: 'checkbook',
  configSchema,
  secretFields: ['secret'],
  verify(request, config) {
    const header = requireHeader(request, 'signature');
    if ('error' in header) return header.error;
    const parts = parseKeyValueList(header.value, ',');
    const nonces = parts.get('nonce') ?? [];
    const signatures = (parts.get('signature') ?? []).map((s) => s.toLowerCase());
    if (nonces.length !== 1 || signatures.length === 0) return fail('malformed signature header');
    const content = Buffer.concat([request.body, Buffer.from(nonces[0] as string)]);
    const expected = hmac('sha256', config.secret, content).toString('hex');
    return matchesAny(expected, signatures) ? OK : fail('signature mismatch');
  },
  eventId: () => undefined,
  eventType: (request) => textAt(jsonObject(request.body), 'type'),
};
