import { type Static, Type } from '@sinclair/typebox';
import { fail, hmac, OK, safeEqual } from './crypto.js';
import { commonValue, parseJson, SecretString, textAt } from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * PandaDoc: the signature travels in the query string of the webhook URL, `?signature=<hex
 * HMAC-SHA256 of the raw body>` keyed with the webhook's shared key, so it is read from the
 * ingest URL's query. The body is an array of `{event, data}`; the event type is the `event`
 * shared by all of them. No event id.
 */
const configSchema = Type.Object(
  { secret: SecretString('Shared key of the webhook') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const pandaDoc: Provider<Config> = {
  type: 'panda-doc',
  configSchema,
  secretFields: ['secret'],
  verify(request, config) {
    const values = request.query.getAll('signature');
    if (values.length > 1) return fail('repeated signature query parameter');
    const received = values[0]?.trim().toLowerCase();
    if (!received) return fail('missing signature query parameter');
    const expected = hmac('sha256', config.secret, request.body).toString('hex');
    return safeEqual(expected, received) ? OK : fail('signature mismatch');
  },
  eventId: () => undefined,
  eventType(request) {
    const body = parseJson(request.body);
    if (!Array.isArray(body)) return textAt(body, 'event');
    return commonValue(body.map((item) => textAt(item, 'event')));
  },
};
