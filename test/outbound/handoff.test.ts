// Emitted deliveries that are due now go straight to this process's worker: written already
// under its lease and handed over after the commit, without a claim query. When the worker has
// no free slot they are queued as before. Both backends, real receivers.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMessage } from '../../src/outbound/messages.js';
import { backends } from '../helpers/backends.js';
import { type Hook, startHook } from '../helpers/hook.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A hook that holds every request open until `release()` (deliveries stay in flight
 * meanwhile), then answers 200.
 */
async function heldHook(): Promise<{ hook: Hook; release: () => void }> {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const hook = await startHook(async () => {
    await released;
    return { status: 200, body: '{}' };
  });
  return { hook, release };
}

interface Row {
  leased_by: string | null;
  lease_until: number | null;
  next_attempt_at: number | null;
}

for (const backend of await backends()) {
  describe(`delivery handoff to the local worker (${backend})`, () => {
    let server: TestServer;
    let hook: Hook;
    let release: () => void;
    let appId: string;

    before(async () => {
      // One slot: the first delivery takes it, the next ones must be queued.
      server = await startTestServer(backend, {}, { dispatcher: { concurrency: 1 } });
      ({ hook, release } = await heldHook());
      const app = await server.svix.application.create({ name: 'handoff' });
      appId = app.id;
      await server.svix.endpoint.create(appId, { url: `${hook.url}/hook` });
    });
    after(async () => {
      release();
      await server.close();
      hook.server.close();
    });

    const rowsOf = (msgId: string) =>
      server.sb.ctx.db.all<Row>(
        'SELECT leased_by, lease_until, next_attempt_at FROM deliveries WHERE msg_id = ?',
        [msgId],
      );

    it('writes a due delivery under the worker lease and sends it without a claim', async () => {
      const worker = server.sb.dispatcher?.workerId;
      assert.ok(worker);
      const created = await createMessage(server.sb.ctx, appId, {
        eventType: 'handoff.first',
        payload: { n: 1 },
      });
      // Read before any other turn of the event loop: a claimed row would still be unleased
      // here (the claim needs the worker's loop to wake up first).
      const [row] = await rowsOf(created.message.id);
      assert.equal(row.leased_by, worker, 'committed already leased by this worker');
      assert.ok(row.lease_until !== null && row.next_attempt_at === row.lease_until);
      await waitFor('the handed-off delivery', () => hook.hits.length === 1);
      assert.match(hook.hits[0].body.toString(), /"n":1/);
    });

    it('queues deliveries for the worker loop when it has no free slot, and sends them later', async () => {
      // The first delivery is still held by the receiver: its slot is taken.
      const created = await createMessage(server.sb.ctx, appId, {
        eventType: 'handoff.second',
        payload: { n: 2 },
      });
      const [row] = await rowsOf(created.message.id);
      assert.equal(row.leased_by, null, 'not leased: no slot was free');
      assert.ok(row.next_attempt_at !== null && row.next_attempt_at <= Date.now());
      release();
      await waitFor('the queued delivery', () => hook.hits.length === 2);
      assert.match(hook.hits[1].body.toString(), /"n":2/);
      await waitFor('the queued delivery recorded as finished', async () => {
        const [done] = await rowsOf(created.message.id);
        return done.next_attempt_at === null && done.leased_by === null;
      });
    });
  });
}
