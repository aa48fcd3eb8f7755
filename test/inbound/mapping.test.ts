import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { backends } from '../helpers/backends.js';
import { type Hook, startHook } from '../helpers/hook.js';
import {
  addIngestEndpoint,
  createGumroadSource,
  createSource,
  GUMROAD_MAPPING,
  gumroadSale,
  inboundEvent,
  postGumroad,
  THANKS,
} from '../helpers/inbound.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const STRIPE_SECRET = 'whsec_test_secret_0123456789';

for (const backend of await backends()) {
  describe(`inbound mapping (${backend})`, () => {
    let server: TestServer;
    let hook: Hook;

    /** An endpoint of the source at `path` on the hook. */
    const addEndpoint = (sourceId: string, path: string) =>
      addIngestEndpoint(server, sourceId, `${hook.url}${path}`);

    before(async () => {
      server = await startTestServer(backend);
      hook = await startHook(() => THANKS);
    });
    after(async () => {
      await server.close();
      hook.server.close();
    });

    it('manages a mapping: GET null, PUT, GET, bad PUT changes nothing, DELETE', async () => {
      const source = await createSource(server, {
        name: 'gumroad',
        uid: 'gumroad-admin',
        type: 'gumroad',
      });
      const base = '/ingest/api/v1/source/gumroad-admin/mapping';
      const empty = await server.request('GET', base);
      assert.equal(empty.status, 200);
      assert.equal(empty.text, 'null');

      const put = await server.request('PUT', base, { body: GUMROAD_MAPPING });
      assert.equal(put.status, 200, put.text);
      assert.deepEqual(put.json, GUMROAD_MAPPING);
      const got = await server.request('GET', `/ingest/api/v1/source/${source.id}/mapping`);
      assert.deepEqual(got.json, GUMROAD_MAPPING);

      const bad = await server.request('PUT', base, {
        body: {
          eventTypes: { sale: 'not valid!' },
          lookups: { tier: { from: 'product_id' } },
          payload: { '': 'x', tier: { lookup: 'nope' }, n: 3 },
          extra: true,
        },
      });
      assert.equal(bad.status, 422, bad.text);
      const locs = bad.json.detail.map((issue: { loc: unknown[] }) => issue.loc.join('.'));
      assert.deepEqual(locs.sort(), [
        'body.eventTypes.sale',
        'body.extra',
        'body.lookups.tier.table',
        'body.payload.',
        'body.payload.n',
        'body.payload.tier.lookup',
      ]);
      for (const issue of bad.json.detail) assert.equal(typeof issue.msg, 'string');
      assert.deepEqual((await server.request('GET', base)).json, GUMROAD_MAPPING, 'unchanged');

      for (const body of [null, [], 'x']) {
        const wrong = await server.request('PUT', base, { body });
        assert.equal(wrong.status, 422, `${JSON.stringify(body)} → ${wrong.text}`);
      }
      const malformed = await server.request('PUT', base, {
        rawBody: '{"payload":',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(malformed.status, 400);

      const missing = await server.request('PUT', '/ingest/api/v1/source/nope/mapping', {
        body: GUMROAD_MAPPING,
      });
      assert.equal(missing.status, 404);
      assert.equal((await server.request('GET', '/ingest/api/v1/source/nope/mapping')).status, 404);
      assert.equal(
        (await server.request('DELETE', '/ingest/api/v1/source/nope/mapping')).status,
        404,
      );

      const appKey = await server.request('GET', base, { token: 'not-a-real-token' });
      assert.equal(appKey.status, 401);

      const deleted = await server.request('DELETE', base);
      assert.equal(deleted.status, 204);
      assert.equal((await server.request('GET', base)).text, 'null');

      // The source's own PUT keeps its mapping.
      await server.request('PUT', base, { body: GUMROAD_MAPPING });
      const upsert = await server.request('PUT', '/ingest/api/v1/source/gumroad-admin', {
        body: { name: 'gumroad renamed', uid: 'gumroad-admin', type: 'gumroad', config: {} },
      });
      assert.equal(upsert.status, 200, upsert.text);
      assert.deepEqual((await server.request('GET', base)).json, GUMROAD_MAPPING);
    });

    it('forwards a Gumroad sale as the projected JSON, with the mapped event type', async () => {
      const source = await createGumroadSource(server);
      const all = await addEndpoint(source.id, '/gumroad-all');
      const sales = await addEndpoint(source.id, '/gumroad-sales');
      // filterTypes (our extension of the Ingest endpoint API) matches the mapped type, which
      // is in no event-type catalogue.
      const patched = await server.request(
        'PATCH',
        `/ingest/api/v1/source/${source.id}/endpoint/${sales.id}`,
        { body: { filterTypes: ['licence.sale'] } },
      );
      assert.equal(patched.status, 200, patched.text);
      assert.deepEqual(patched.json.filterTypes, ['licence.sale']);

      const answer = await postGumroad(server, source.path, gumroadSale('prod_pro', 'sale-1'));
      assert.equal(answer.status, 200, answer.text);

      const hit = await waitFor('the projected sale', () => hook.hitsAt('/gumroad-all')[0]);
      assert.equal(hit.headers['content-type'], 'application/json');
      assert.deepEqual(JSON.parse(hit.body.toString('utf8')), {
        saleId: 'sale-1',
        email: 'buyer@example.com',
        tier: 'pro',
        variant: 'Team',
        source: 'gumroad',
        customer: { name: 'Ada Lovelace', email: 'buyer@example.com' },
      });
      assert.doesNotThrow(() =>
        new Webhook(all.key).verify(hit.body.toString('utf8'), hit.headers),
      );
      const filtered = await waitFor(
        'the sale at the filtered endpoint',
        () => hook.hitsAt('/gumroad-sales')[0],
      );
      assert.doesNotThrow(() =>
        new Webhook(sales.key).verify(filtered.body.toString('utf8'), filtered.headers),
      );
      const event = await inboundEvent(server, source.id, 'sale-1');
      assert.equal(event?.status, 'routed');
      assert.equal(event?.error, null);

      // A refund maps to the "*" type: not one the filtered endpoint listens to.
      await postGumroad(server, source.path, gumroadSale('prod_pro', 'sale-1', 'refund'));
      await waitFor('the refund', () => hook.hitsAt('/gumroad-all').length === 2);
      await sleep(300);
      assert.equal(hook.hitsAt('/gumroad-sales').length, 1, 'the filter saw gumroad.other');

      const detail = await server.request(
        'GET',
        `/ingest/api/v1/source/${source.id}/event/${event?.id}`,
      );
      assert.equal(detail.status, 200, detail.text);
      assert.equal(detail.json.eventType, 'sale');
      assert.equal(detail.json.mappedEventType, 'licence.sale');
      const refund = await inboundEvent(server, source.id, 'sale-1:refund');
      const refundDetail = await server.request(
        'GET',
        `/ingest/api/v1/source/${source.id}/event/${refund?.id}`,
      );
      assert.equal(refundDetail.json.mappedEventType, 'gumroad.other');
      assert.equal(refundDetail.json.destinations.length, 1);
    });

    it('fails an unmapped product: 200 to Gumroad, the lookup error stored, nothing sent', async () => {
      const source = await createSource(server, { name: 'gumroad', type: 'gumroad' });
      await server.request('PUT', `/ingest/api/v1/source/${source.id}/mapping`, {
        body: GUMROAD_MAPPING,
      });
      await addEndpoint(source.id, '/gumroad-unmapped');
      const answer = await postGumroad(server, source.path, gumroadSale('xyz', 'sale-unmapped'));
      assert.equal(answer.status, 200, answer.text);
      assert.deepEqual(answer.json, {});
      const event = await inboundEvent(server, source.id, 'sale-unmapped');
      assert.equal(event?.status, 'failed');
      assert.equal(event?.error, 'lookup tier: no entry for product_id = "xyz"');
      await sleep(300);
      assert.equal(hook.hitsAt('/gumroad-unmapped').length, 0);
      const messages = await server.sb.ctx.db.get<{ n: number }>(
        'SELECT COUNT(*) AS n FROM messages WHERE inbound_event_id = ?',
        [event?.id ?? ''],
      );
      assert.equal(Number(messages?.n), 0);

      const metrics = await server.request('GET', '/metrics', { token: null });
      assert.match(
        metrics.text,
        /switchboard_inbound_mapping_failures_total\{type="gumroad"\} [1-9]/,
      );
      const health = await server.request('GET', '/api/v1/health', { token: null });
      assert.equal(health.status, 200);
      // A body that cannot be projected fails too, still with a 200.
      const notForm = await server.request('POST', source.path, {
        rawBody: '<sale id="1"/>',
        token: null,
        headers: { 'content-type': 'application/xml' },
      });
      assert.equal(notForm.status, 200);
      const rows = await server.sb.ctx.db.all<{ status: string; error: string | null }>(
        'SELECT status, error FROM inbound_events WHERE source_id = ? ORDER BY id',
        [source.id],
      );
      assert.deepEqual(rows.at(-1), {
        status: 'failed',
        error: 'body is not JSON or form-encoded',
      });

      const failedList = await server.request(
        'GET',
        `/ingest/api/v1/source/${source.id}/event?status=failed`,
      );
      assert.equal(failedList.json.data.length, 2);
    });

    it('forwards a Stripe event without a mapping byte for byte; eventTypes alone renames it', async () => {
      const source = await createSource(server, {
        name: 'stripe',
        type: 'stripe',
        config: { secret: STRIPE_SECRET },
      });
      const endpoint = await addEndpoint(source.id, '/stripe');
      const stripe = new Stripe('sk_test_123');
      const send = (payload: string) =>
        server.request('POST', source.path, {
          rawBody: payload,
          token: null,
          headers: {
            'content-type': 'application/json',
            'stripe-signature': stripe.webhooks.generateTestHeaderString({
              payload,
              secret: STRIPE_SECRET,
            }),
          },
        });
      const first = '{"id":"evt_a","type":"invoice.paid",  "data":{"object":{"amount":1.50}}}';
      assert.equal((await send(first)).status, 200);
      const hit = await waitFor('the raw Stripe event', () => hook.hitsAt('/stripe')[0]);
      assert.ok(hit.body.equals(Buffer.from(first)), 'byte for byte');
      assert.doesNotThrow(() => new Webhook(endpoint.key).verify(hit.body.toString(), hit.headers));

      const rules = await server.request('PUT', `/ingest/api/v1/source/${source.id}/mapping`, {
        body: { eventTypes: { 'invoice.paid': 'billing.paid' } },
      });
      assert.equal(rules.status, 200, rules.text);
      const second = '{"id":"evt_b","type":"invoice.paid","data":{}}';
      assert.equal((await send(second)).status, 200);
      const next = await waitFor('the renamed Stripe event', () => hook.hitsAt('/stripe')[1]);
      assert.ok(next.body.equals(Buffer.from(second)), 'still byte for byte');
      const forwarded = await server.sb.ctx.db.all<{ event_type: string }>(
        `SELECT m.event_type FROM messages m JOIN inbound_events e ON e.id = m.inbound_event_id
         WHERE e.source_id = ? ORDER BY m.id`,
        [source.id],
      );
      assert.deepEqual(
        forwarded.map((row) => row.event_type),
        ['invoice.paid', 'billing.paid'],
      );
    });

    it('shows an event with its destinations and their attempts; filters the list', async () => {
      const source = await createSource(server, { name: 'gumroad', type: 'gumroad' });
      await server.request('PUT', `/ingest/api/v1/source/${source.id}/mapping`, {
        body: GUMROAD_MAPPING,
      });
      const endpoint = await addEndpoint(source.id, '/gumroad-detail');
      const startedAt = new Date().toISOString();
      await postGumroad(server, source.path, gumroadSale('prod_basic', 'sale-detail'));
      const event = await inboundEvent(server, source.id, 'sale-detail');
      assert.ok(event);
      const path = `/ingest/api/v1/source/${source.id}/event/${event.id}`;
      const detail = await waitFor('a delivered destination', async () => {
        const response = await server.request('GET', path);
        return response.json.destinations?.[0]?.status === 'success' && response.json;
      });
      assert.equal(detail.status, 'routed');
      assert.equal(detail.destinations.length, 1);
      const [destination] = detail.destinations;
      assert.match(destination.messageId, /^msg_/);
      assert.equal(destination.endpointId, endpoint.id);
      assert.equal(destination.url, `${hook.url}/gumroad-detail`);
      assert.equal(destination.eventType, 'licence.sale');
      assert.equal(destination.attempts, 1);
      assert.equal(destination.nextAttempt, null);
      assert.equal(destination.lastAttempt.statusCode, 200);
      assert.equal(destination.lastAttempt.response, 'thanks');
      assert.match(destination.lastAttempt.timestamp, /Z$/);
      assert.equal(detail.request.bodyText, gumroadSale('prod_basic', 'sale-detail'));

      const list = (query: string) =>
        server.request('GET', `/ingest/api/v1/source/${source.id}/event?${query}`);
      assert.equal((await list('eventType=sale')).json.data.length, 1);
      assert.equal((await list('eventType=refund')).json.data.length, 0);
      assert.equal((await list(`since=${encodeURIComponent(startedAt)}`)).json.data.length, 1);
      assert.equal((await list(`until=${encodeURIComponent(startedAt)}`)).json.data.length, 0);
      assert.equal((await list('since=yesterday')).status, 422);
      assert.equal((await list('status=lost')).status, 422);
      const unknown = await server.request(
        'GET',
        `/ingest/api/v1/source/${source.id}/event/evt_unknown`,
      );
      assert.equal(unknown.status, 404);
    });
  });
}
