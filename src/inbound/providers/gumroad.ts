import { type Static, Type } from '@sinclair/typebox';
import { fail, OK } from './crypto.js';
import { bodyRecord, SecretString, textAt, tokenMatches } from './crypto-extra.js';
import type { InboundRequest, Provider } from './types.js';

/**
 * Gumroad Ping / resource subscriptions sign nothing: the ingest URL's token is the secret
 * (an unknown token is a 404 before any provider runs). Optionally the source also requires
 * (a) `secret`: a query parameter of the ping URL (`secretQueryParam`, default `secret`) equal
 * to it, and (b) `sellerId`: the body's `seller_id` equal to it. Bodies are form-encoded
 * (`card[type]`, `url_params[…]` keys stay flat) or, when so configured at Gumroad, JSON.
 *
 * A failed check answers 404 (`failureStatus`), exactly like an unknown token: a prober learns
 * nothing.
 */
const configSchema = Type.Object(
  {
    secret: Type.Optional(SecretString('Secret expected in the ping URL query')),
    secretQueryParam: Type.Optional(
      Type.String({ minLength: 1, description: 'Query parameter holding it (`secret`)' }),
    ),
    sellerId: Type.Optional(
      Type.String({ minLength: 1, description: 'Your Gumroad seller id (`seller_id`)' }),
    ),
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

function resourceName(request: InboundRequest): string | undefined {
  const body = bodyRecord(request);
  return textAt(body, 'resource_name') ?? (textAt(body, 'sale_id') ? 'sale' : undefined);
}

export const gumroad: Provider<Config> = {
  type: 'gumroad',
  failureStatus: 404,
  configSchema,
  secretFields: ['secret'],
  verify(request, config) {
    if (config.secret !== undefined) {
      const values = request.query.getAll(config.secretQueryParam ?? 'secret');
      const received = values.length === 1 ? values[0] : undefined;
      if (!tokenMatches(config.secret, received)) return fail('missing or wrong URL secret');
    }
    if (config.sellerId !== undefined) {
      const sellerId = textAt(bodyRecord(request), 'seller_id');
      if (!tokenMatches(config.sellerId, sellerId)) return fail('seller_id does not match');
    }
    return OK;
  },
  /**
   * `sale_id` for a sale; refund, dispute and subscription pings reuse the sale's id, so for
   * them it is `sale_id:resource_name` (a retry of the same ping keeps the same id).
   */
  eventId(request) {
    const saleId = textAt(bodyRecord(request), 'sale_id');
    if (saleId === undefined) return undefined;
    const resource = resourceName(request);
    return resource === undefined || resource === 'sale' ? saleId : `${saleId}:${resource}`;
  },
  /** `sale`, `refund`, `dispute`, `dispute_won`, `cancellation`, `subscription_updated`… */
  eventType: resourceName,
};
