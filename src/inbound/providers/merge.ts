import { type Static, Type } from '@sinclair/typebox';
import { fail, hmac, OK, safeEqual } from './crypto.js';
import { jsonObject, requireHeader, SecretString, textAt } from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * Merge: `X-Merge-Webhook-Signature` = URL-safe base64 of the HMAC-SHA256 of the raw body,
 * keyed with the organisation's webhook signature key. Merge's examples use Python's
 * `urlsafe_b64encode` (padded), so padding is optional here. The body names the event in
 * `hook.event` (`Employee.changed`); there is no event id.
 */
const configSchema = Type.Object(
  { secret: SecretString('Webhook signature key') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const merge: Provider<Config> = {
  type: 'merge',
  configSchema,
  secretFields: ['secret'],
  verify(request, config) {
    const header = requireHeader(request, 'x-merge-webhook-signature');
    if ('error' in header) return header.error;
    const received = header.value.trim().replace(/=+$/, '');
    const expected = hmac('sha256', config.secret, request.body).toString('base64url');
    return safeEqual(expected, received) ? OK : fail('signature mismatch');
  },
  eventId: () => undefined,
  eventType: (request) => textAt(jsonObject(request.body), 'hook.event'),
};
