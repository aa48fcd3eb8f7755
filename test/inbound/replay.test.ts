import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { backends } from '../helpers/backends.js';
import { type Hook, startHook } from '../helpers/hook.js';
import {
  addIngestEndpoint,
  createGumroadSource,
  GUMROAD_MAPPING,
  gumroadSale,
  inboundEvent,
  postGumroad,
  THANKS,
} from '../helpers/inbound.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

for (const backend of await backends()) {
  describe(`inbound replay (${backend})`, () => {
    let server: TestServer;
    let hook: Hook;

    /** An endpoint of the source at `path` on the hook. */
    const addEndpoint = (sourceId: string, path: string) =>
      addIngestEndpoint(server, sourceId, `${hook.url}${path}`);

    /** Posts a sale, which must be answered 200 (one that fails its mapping is too). */
    async function sendGumroad(path: string, form: string) {
      const answer = await postGumroad(server, path, form);
      assert.equal(answer.status, 200, answer.text);
    }

    /** The stored event, which must exist. */
    async function eventOf(sourceId: string, providerEventId: string) {
      const row = await inboundEvent(server, sourceId, providerEventId);
      assert.ok(row, `event ${providerEventId}`);
      return row;
    }

    async function statuses(sourceId: string) {
      const rows = await server.sb.ctx.db.all<{ status: string }>(
        'SELECT status FROM inbound_events WHERE source_id = ? ORDER BY id',
        [sourceId],
      );
      return rows.map((row) => row.status);
    }

    async function messageCount(sourceId: string) {
      const row = await server.sb.ctx.db.get<{ n: number }>(
        'SELECT COUNT(*) AS n FROM messages m JOIN inbound_events e ON e.id = m.inbound_event_id WHERE e.source_id = ?',
        [sourceId],
      );
      return Number(row?.n ?? 0);
    }

    before(async () => {
      server = await startTestServer(backend);
      hook = await startHook(() => THANKS);
    });
    after(async () => {
      await server.close();
      hook.server.close();
    });

    it('replays one event: a second delivery and a second destinations entry', async () => {
      const source = await createGumroadSource(server);
      const endpoint = await addEndpoint(source.id, '/replay-one');
      await sendGumroad(source.path, gumroadSale('prod_pro', 'sale-r1'));
      const event = await eventOf(source.id, 'sale-r1');
      const first = await waitFor('the first delivery', () => hook.hitsAt('/replay-one')[0]);

      const replay = await server.request(
        'POST',
        `/ingest/api/v1/source/${source.id}/event/${event.id}/replay`,
      );
      assert.equal(replay.status, 200, replay.text);
      assert.deepEqual(replay.json, { status: 'routed', queued: 1, error: null });
      const second = await waitFor('the replayed delivery', () => hook.hitsAt('/replay-one')[1]);
      assert.ok(second.body.equals(first.body), 'the same projected body');
      assert.notEqual(second.headers['webhook-id'], first.headers['webhook-id'], 'a new message');
      assert.doesNotThrow(() =>
        new Webhook(endpoint.key).verify(second.body.toString(), second.headers),
      );

      const detail = await waitFor('two delivered destinations', async () => {
        const response = await server.request(
          'GET',
          `/ingest/api/v1/source/${source.id}/event/${event.id}`,
        );
        const list = response.json.destinations ?? [];
        return list.length === 2 && list.every((d: { status: string }) => d.status === 'success')
          ? response.json
          : undefined;
      });
      assert.ok(
        detail.destinations[0].messageId < detail.destinations[1].messageId,
        'oldest first',
      );
      assert.equal(detail.status, 'routed');
    });

    it('replays by uid, and idempotency-key replays the first answer', async () => {
      const uid = `gumroad-idem-${backend}`;
      const created = await server.request('POST', '/ingest/api/v1/source', {
        body: { name: 'gumroad', uid, type: 'gumroad' },
      });
      const path = new URL(created.json.ingestUrl).pathname;
      await addEndpoint(uid, '/replay-idem');
      await sendGumroad(path, gumroadSale('prod_pro', 'sale-idem'));
      const event = await eventOf(created.json.id, 'sale-idem');
      await waitFor('the first delivery', () => hook.hitsAt('/replay-idem')[0]);
      const url = `/ingest/api/v1/source/${uid}/event/${event.id}/replay`;
      const headers = { 'idempotency-key': 'replay-once' };
      const one = await server.request('POST', url, { headers });
      const two = await server.request('POST', url, { headers });
      assert.equal(one.status, 200);
      assert.equal(two.text, one.text);
      await waitFor('the replayed delivery', () => hook.hitsAt('/replay-idem')[1]);
      await sleep(300);
      assert.equal(hook.hitsAt('/replay-idem').length, 2, 'one replay, not two');
      assert.equal(await messageCount(created.json.id), 2);
    });

    it('bulk-replays the failed events after the mapping is fixed', async () => {
      const source = await createGumroadSource(server);
      await addEndpoint(source.id, '/replay-bulk');
      await sendGumroad(source.path, gumroadSale('prod_new', 'sale-b1'));
      await sendGumroad(source.path, gumroadSale('prod_new', 'sale-b2'));
      await sendGumroad(source.path, gumroadSale('prod_pro', 'sale-b3'));
      await sendGumroad(source.path, gumroadSale('prod_other', 'sale-b4'));
      await sendGumroad(source.path, gumroadSale('prod_pro', 'sale-b3')); // a duplicate
      assert.deepEqual(await statuses(source.id), [
        'failed',
        'failed',
        'routed',
        'failed',
        'duplicate',
      ]);
      await waitFor('the one routed sale', () => hook.hitsAt('/replay-bulk').length === 1);

      // Still unmapped: replaying fails them again, counted as failed, nothing sent.
      const still = await server.request(
        'POST',
        `/ingest/api/v1/source/${source.id}/event/replay`,
        { body: { status: ['failed'] } },
      );
      assert.equal(still.status, 200, still.text);
      assert.deepEqual(still.json, { matched: 3, queued: 0, failed: 3 });

      const fixed = structuredClone(GUMROAD_MAPPING);
      fixed.lookups.tier = {
        from: 'product_id',
        table: { prod_basic: 'basic', prod_pro: 'pro', prod_new: 'pro' },
      } as typeof fixed.lookups.tier;
      await server.request('PUT', `/ingest/api/v1/source/${source.id}/mapping`, { body: fixed });
      const bulk = await server.request('POST', `/ingest/api/v1/source/${source.id}/event/replay`, {
        body: { status: ['failed'] },
      });
      assert.equal(bulk.status, 200, bulk.text);
      assert.deepEqual(bulk.json, { matched: 3, queued: 2, failed: 1 });
      assert.deepEqual(await statuses(source.id), [
        'routed',
        'routed',
        'routed',
        'failed',
        'duplicate',
      ]);
      await waitFor('the replayed sales', () => hook.hitsAt('/replay-bulk').length === 3);
      const sent = hook.hitsAt('/replay-bulk').map((hit) => JSON.parse(hit.body.toString()).saleId);
      assert.deepEqual(sent.sort(), ['sale-b1', 'sale-b2', 'sale-b3']);
      const b4 = await eventOf(source.id, 'sale-b4');
      assert.equal(b4.error, 'lookup tier: no entry for product_id = "prod_other"');

      // Without a status filter every status but duplicate is replayed; limit bounds it.
      const limited = await server.request(
        'POST',
        `/ingest/api/v1/source/${source.id}/event/replay`,
        { body: { limit: 2 } },
      );
      assert.deepEqual(limited.json, { matched: 2, queued: 2, failed: 0 });
      const everything = await server.request(
        'POST',
        `/ingest/api/v1/source/${source.id}/event/replay`,
        { body: {} },
      );
      assert.deepEqual(everything.json, { matched: 4, queued: 3, failed: 1 });
      assert.equal((await statuses(source.id)).at(-1), 'duplicate', 'duplicates left alone');
      // Named explicitly, a duplicate is replayed.
      const duplicates = await server.request(
        'POST',
        `/ingest/api/v1/source/${source.id}/event/replay`,
        { body: { status: ['duplicate'] } },
      );
      assert.deepEqual(duplicates.json, { matched: 1, queued: 1, failed: 0 });
      await waitFor(
        'every replay delivered',
        () => hook.hitsAt('/replay-bulk').length === 3 + 2 + 3 + 1,
      );
    });

    it('bulk-replays by event type and time window, across pages', async () => {
      const source = await createGumroadSource(server, { eventTypes: { '*': 'gumroad.any' } });
      await addEndpoint(source.id, '/replay-window');
      for (let i = 0; i < 120; i++) {
        await sendGumroad(
          source.path,
          gumroadSale('p', `sale-w${i}`, i % 2 ? 'refund' : undefined),
        );
      }
      const middle = new Date().toISOString();
      await sleep(10);
      await sendGumroad(source.path, gumroadSale('p', 'sale-late'));
      const replay = (body: unknown) =>
        server.request('POST', `/ingest/api/v1/source/${source.id}/event/replay`, { body });
      assert.deepEqual((await replay({ eventType: 'refund' })).json, {
        matched: 60,
        queued: 60,
        failed: 0,
      });
      assert.deepEqual((await replay({ eventType: 'sale', until: middle })).json, {
        matched: 60,
        queued: 60,
        failed: 0,
      });
      assert.deepEqual((await replay({ since: middle })).json, {
        matched: 1,
        queued: 1,
        failed: 0,
      });
      assert.deepEqual((await replay({ eventType: 'sale', limit: 101 })).json, {
        matched: 61,
        queued: 61,
        failed: 0,
      });
      // Everything: two pages of 100 and 21.
      assert.deepEqual((await replay({ limit: 10_000 })).json, {
        matched: 121,
        queued: 121,
        failed: 0,
      });
      assert.equal(await messageCount(source.id), 121 + 60 + 60 + 1 + 61 + 121);
      // Without a body at all: the defaults.
      const bare = await server.request('POST', `/ingest/api/v1/source/${source.id}/event/replay`);
      assert.equal(bare.status, 200, bare.text);
      assert.equal(bare.json.matched, 121);
    });

    it('refuses bad input with 422 or 404 and changes nothing', async () => {
      const source = await createGumroadSource(server);
      await addEndpoint(source.id, '/replay-bad');
      await sendGumroad(source.path, gumroadSale('xyz', 'sale-bad'));
      const event = await eventOf(source.id, 'sale-bad');
      const before = await messageCount(source.id);
      const bulk = `/ingest/api/v1/source/${source.id}/event/replay`;
      for (const body of [
        { limit: 0 },
        { limit: 10_001 },
        { limit: 1.5 },
        { status: [] },
        { status: ['lost'] },
        { status: 'failed' },
        { since: 'yesterday' },
        { eventType: '' },
        { statuses: ['failed'] },
        [],
      ]) {
        const response = await server.request('POST', bulk, { body });
        assert.equal(response.status, 422, `${JSON.stringify(body)} → ${response.text}`);
        assert.ok(Array.isArray(response.json.detail));
      }
      const notJson = await server.request('POST', bulk, {
        rawBody: '{"status":',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(notJson.status, 400);
      const missing = [
        ['POST', `/ingest/api/v1/source/nope/event/replay`, {}],
        ['POST', `/ingest/api/v1/source/nope/event/${event.id}/replay`, undefined],
        ['POST', `/ingest/api/v1/source/${source.id}/event/evt_nope/replay`, undefined],
      ] as const;
      for (const [method, path, body] of missing) {
        const response = await server.request(method, path, { body });
        assert.equal(response.status, 404, `${path} → ${response.text}`);
      }
      const other = await createGumroadSource(server, null);
      const cross = await server.request(
        'POST',
        `/ingest/api/v1/source/${other.id}/event/${event.id}/replay`,
      );
      assert.equal(cross.status, 404, 'an event of another source is not found');
      assert.equal(await messageCount(source.id), before);
      assert.equal((await eventOf(source.id, 'sale-bad')).status, 'failed');
      const unauthenticated = await server.request('POST', bulk, { body: {}, token: null });
      assert.equal(unauthenticated.status, 401);
    });
  });
}
