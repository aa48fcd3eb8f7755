// Emitted deliveries that are due now go straight to this process's worker: written already
// under its lease and handed over after the commit, without a claim query. When the worker has
// no free slot they are queued as before. Both backends, real receivers.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createMessage } from '../../src/outbound/messages.js';
import { backends } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

interface HeldReceiver {
  url: string;
  /** Bodies received so far (answered or held). */
  received: string[];
  /** Answers every held request with 200, and every later one at once. */
  release(): void;
  close(): Promise<void>;
}

/** Holds every request open until `release()`, so deliveries stay in flight meanwhile. */
async function heldReceiver(): Promise<HeldReceiver> {
  const received: string[] = [];
  const held: (() => void)[] = [];
  let released = false;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push(Buffer.concat(chunks).toString());
      const answer = () => res.writeHead(200).end('{}');
      if (released) answer();
      else held.push(answer);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const release = () => {
    released = true;
    for (const answer of held.splice(0)) answer();
  };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    release,
    async close() {
      release();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface Row {
  leased_by: string | null;
  lease_until: number | null;
  next_attempt_at: number | null;
}

for (const backend of await backends()) {
  describe(`delivery handoff to the local worker (${backend})`, () => {
    let server: TestServer;
    let receiver: HeldReceiver;
    let appId: string;

    before(async () => {
      // One slot: the first delivery takes it, the next ones must be queued.
      server = await startTestServer(backend, {}, { dispatcher: { concurrency: 1 } });
      receiver = await heldReceiver();
      const app = await server.svix.application.create({ name: 'handoff' });
      appId = app.id;
      await server.svix.endpoint.create(appId, { url: receiver.url });
    });
    after(async () => {
      await receiver.close();
      await server.close();
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
      await waitFor('the handed-off delivery', () => receiver.received.length === 1);
      assert.match(receiver.received[0], /"n":1/);
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
      receiver.release();
      await waitFor('the queued delivery', () => receiver.received.length === 2);
      assert.match(receiver.received[1], /"n":2/);
      await waitFor('the queued delivery recorded as finished', async () => {
        const [done] = await rowsOf(created.message.id);
        return done.next_attempt_at === null && done.leased_by === null;
      });
    });
  });
}
