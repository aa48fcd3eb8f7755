import { type Static, Type } from '@sinclair/typebox';
import { jsonObject, SecretString, textAt, verifyHeaderHmac } from './crypto-extra.js';
import { type InboundRequest, type Provider, singleHeader } from './types.js';

/**
 * Lemon Squeezy: `X-Signature` = hex HMAC-SHA256 of the raw body with the signing secret typed
 * when the webhook was created. No event id: deliveries are told apart by event name, the
 * object's id and its `updated_at`.
 */
const configSchema = Type.Object(
  { secret: SecretString('Signing secret of the Lemon Squeezy webhook') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

function eventType(request: InboundRequest): string | undefined {
  return (
    singleHeader(request, 'x-event-name') ?? textAt(jsonObject(request.body), 'meta.event_name')
  );
}

export const lemonSqueezy: Provider<Config> = {
  type: 'lemon-squeezy',
  configSchema,
  secretFields: ['secret'],
  verify: (request, config) =>
    verifyHeaderHmac(request, {
      header: 'x-signature',
      algorithm: 'sha256',
      encoding: 'hex',
      keys: [config.secret],
    }),
  eventId(request) {
    const body = jsonObject(request.body);
    const name = eventType(request);
    const id = textAt(body, 'data.id');
    const updatedAt = textAt(body, 'data.attributes.updated_at');
    return name && id && updatedAt ? `${name}:${id}:${updatedAt}` : undefined;
  },
  eventType,
};
