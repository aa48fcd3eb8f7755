import assert from 'node:assert/strict';
import type { TestServer } from './server.js';

// Inbound set-up shared by the forwarding, mapping and replay tests: sources created through
// the Ingest API, endpoints through the svix SDK, and Gumroad sales (form-encoded, and
// authenticated by the URL alone, so a test can post them without signing).

export const FORM = 'application/x-www-form-urlencoded';

/** A source through the Ingest API; `path` is its public receiving path (`/in/{token}`). */
export async function createSource(
  server: TestServer,
  body: Record<string, unknown>,
): Promise<{ id: string; path: string }> {
  const response = await server.request('POST', '/ingest/api/v1/source', { body });
  assert.equal(response.status, 201, response.text);
  return { id: response.json.id as string, path: new URL(response.json.ingestUrl).pathname };
}

/** A Gumroad source, with `mapping` set on it unless it is null. */
export async function createGumroadSource(
  server: TestServer,
  mapping: unknown = GUMROAD_MAPPING,
): Promise<{ id: string; path: string }> {
  const source = await createSource(server, { name: 'gumroad', type: 'gumroad' });
  if (mapping) {
    const set = await server.request('PUT', `/ingest/api/v1/source/${source.id}/mapping`, {
      body: mapping,
    });
    assert.equal(set.status, 200, set.text);
  }
  return source;
}

/** An ingest endpoint of the source (id or uid) at `url`, with its signing key. */
export async function addIngestEndpoint(server: TestServer, sourceId: string, url: string) {
  const endpoint = await server.svix.ingest.endpoint.create(sourceId, { url });
  const { key } = await server.svix.ingest.endpoint.getSecret(sourceId, endpoint.id);
  return { id: endpoint.id, key };
}

/** POSTs a Gumroad form to the source's path, as Gumroad does (no admin token). */
export function postGumroad(server: TestServer, path: string, form: string) {
  return server.request('POST', path, {
    rawBody: form,
    token: null,
    headers: { 'content-type': FORM },
  });
}

/** The first stored event of the source with this provider event id (undefined if none). */
export function inboundEvent(server: TestServer, sourceId: string, providerEventId: string) {
  return server.sb.ctx.db.get<{ id: string; status: string; error: string | null }>(
    'SELECT id, status, error FROM inbound_events WHERE source_id = ? AND provider_event_id = ? ORDER BY id LIMIT 1',
    [sourceId, providerEventId],
  );
}

/** A Gumroad sale ping, form-encoded; `resource` names another resource (e.g. 'refund'). */
export function gumroadSale(productId: string, saleId: string, resource?: string): string {
  const fields: [string, string][] = [
    ['seller_id', 'seller_1'],
    ['product_id', productId],
    ['product_name', 'Switchboard'],
    ['email', 'buyer@example.com'],
    ['full_name', 'Ada Lovelace'],
    ['price', '4900'],
    ['sale_id', saleId],
    ['variants[Tier]', 'Team'],
  ];
  if (resource) fields.push(['resource_name', resource]);
  return new URLSearchParams(fields).toString();
}

/** Sales become `licence.sale` with a tier looked up by product; anything else `gumroad.other`. */
export const GUMROAD_MAPPING = {
  eventTypes: { sale: 'licence.sale', '*': 'gumroad.other' },
  lookups: {
    tier: { from: 'product_id', table: { prod_basic: 'basic', prod_pro: 'pro' } },
  },
  payload: {
    saleId: 'sale_id',
    email: { path: 'email' },
    tier: { lookup: 'tier' },
    variant: 'variants[Tier]',
    source: { const: 'gumroad' },
    customer: { object: { name: 'full_name', email: 'email' } },
  },
};

/** What the hooks of the mapping and replay tests answer; the tests read it back as the response. */
export const THANKS = { status: 200, headers: { 'content-type': 'text/plain' }, body: 'thanks' };
