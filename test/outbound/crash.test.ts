import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { ApiException, Svix } from 'svix';
import { PostgresDatabase } from '../../src/store/postgres/driver.js';
import { listen, notify } from '../../src/store/postgres/notify.js';
import { backends, createPostgresDatabase } from '../helpers/backends.js';
import { crashTestEnv, type SpawnedServer, spawnServer, stopServer } from '../helpers/process.js';
import { Receiver } from '../helpers/receiver.js';

// Process-level crash tests of the delivery engine (SPEC §6 "Nothing lost", "Scales out"): real
// server processes, SIGKILL under load, restart, and a receiver that counts what arrived.

const MESSAGES = 300;
const CHUNK = 20;
const TOKEN = `test_admin_${randomBytes(12).toString('hex')}`;

/** Retries 1–2 s apart, so what the killed process left undelivered arrives within the test. */
const serverEnv = (databaseUrl: string, dataDir: string) =>
  crashTestEnv(databaseUrl, dataDir, TOKEN, {
    SWITCHBOARD_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
    SWITCHBOARD_RETRY_SCHEDULE: '0,1,1,2,2,2,2,2',
  });

function sdk(server: SpawnedServer): Svix {
  return new Svix(TOKEN, { serverUrl: server.url });
}

const eventId = (index: number) => `evt-${index}`;

/** Message index → message id, for the messages the API acknowledged. */
type Acked = Map<number, string>;

/**
 * Emits messages `indices` in concurrent chunks. Stops sending once `stopped()` says so (the
 * server is dead); what was not acknowledged is returned for a retry.
 */
async function emit(
  svix: Svix,
  appId: string,
  indices: number[],
  acked: Acked,
  stopped: () => boolean = () => false,
): Promise<number[]> {
  const failed: number[] = [];
  for (let start = 0; start < indices.length; start += CHUNK) {
    const chunk = indices.slice(start, start + CHUNK);
    if (stopped()) {
      failed.push(...chunk);
      continue;
    }
    const results = await Promise.allSettled(
      chunk.map((index) =>
        svix.message.create(appId, {
          eventType: 'order.created',
          eventId: eventId(index),
          payload: { index, order: `ord_${index}` },
        }),
      ),
    );
    results.forEach((result, k) => {
      if (result.status === 'fulfilled') acked.set(chunk[k], result.value.id);
      else failed.push(chunk[k]);
    });
  }
  return failed;
}

/**
 * Re-emits messages whose first try got no answer. The same eventId makes it idempotent: a 409
 * means the dead server had committed it before dying, and its id is looked up.
 */
async function reemit(svix: Svix, appId: string, indices: number[], acked: Acked) {
  let conflicts = 0;
  for (const index of indices) {
    try {
      const message = await svix.message.create(appId, {
        eventType: 'order.created',
        eventId: eventId(index),
        payload: { index, order: `ord_${index}` },
      });
      acked.set(index, message.id);
    } catch (error) {
      if (!(error instanceof ApiException) || error.code !== 409) throw error;
      conflicts++;
      acked.set(index, (await svix.message.get(appId, eventId(index))).id);
    }
  }
  return conflicts;
}

/** Every acknowledged message can be read back (it was committed before the 2xx). */
async function assertStored(svix: Svix, appId: string, ids: Iterable<string>): Promise<void> {
  const list = [...ids];
  for (let start = 0; start < list.length; start += CHUNK) {
    await Promise.all(
      list.slice(start, start + CHUNK).map(async (id) => {
        const message = await svix.message.get(appId, id);
        assert.equal(message.id, id);
      }),
    );
  }
}

async function setUp(svix: Svix, receiverUrl: string): Promise<string> {
  await svix.eventType.create({ name: 'order.created', description: 'An order was placed' });
  const app = await svix.application.create({ name: 'crash test' });
  await svix.endpoint.create(app.id, { url: receiverUrl, eventTypes: ['order.created'] });
  return app.id;
}

/** Claims held now. */
async function leases(client: pg.Client): Promise<{ msgId: string; worker: string }[]> {
  const { rows } = await client.query<{ msg_id: string; leased_by: string }>(
    'SELECT msg_id, leased_by FROM deliveries WHERE leased_by IS NOT NULL',
  );
  return rows.map((row) => ({ msgId: row.msg_id, worker: row.leased_by }));
}

/** The dispatcher's worker id (`deliveries.leased_by`), from the process's start-up log. */
async function workerIdOf(server: SpawnedServer): Promise<string> {
  const deadline = performance.now() + 5_000;
  for (;;) {
    const match = /"worker":"(wk_[0-9a-f]+)"/.exec(server.stdout());
    if (match) return match[1];
    assert.ok(performance.now() < deadline, 'the worker logs its id');
    await sleep(20);
  }
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

const available = await backends();

describe('delivery across crashes', { concurrency: false }, () => {
  it('SQLite: SIGKILL while delivering, restart: every accepted message arrives', async () => {
    const began = performance.now();
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-crash-'));
    const receiver = await Receiver.start({ latencyMs: [20, 50], failureRate: 0.2 });
    const env = serverEnv(`sqlite:${join(dataDir, 'switchboard.db')}`, dataDir);
    let server: SpawnedServer | undefined;
    try {
      server = await spawnServer(env);
      const first = server;
      const appId = await setUp(sdk(first), receiver.url);

      const acked: Acked = new Map();
      let killed = false;
      const indices = Array.from({ length: MESSAGES }, (_, i) => i);
      const emitting = emit(sdk(first), appId, indices, acked, () => killed);
      await receiver.waitFor(
        () => receiver.distinct >= 60 && receiver.inFlight > 0,
        30_000,
        'deliveries in flight',
      );
      const deliveredAtKill = receiver.distinct;
      const inFlightAtKill = receiver.inFlight;
      first.child.kill('SIGKILL');
      killed = true;
      const [failed] = await Promise.all([emitting, first.exited]);
      const ackedBeforeKill = new Map(acked);
      console.log(
        `# killed with ${deliveredAtKill} delivered, ${inFlightAtKill} in flight, ` +
          `${ackedBeforeKill.size} of ${MESSAGES} messages acknowledged`,
      );

      server = await spawnServer(env);
      const svix = sdk(server);
      const conflicts = await reemit(svix, appId, failed, acked);
      console.log(
        `# restarted; re-emitted ${failed.length} (${conflicts} had been committed already)`,
      );
      assert.equal(acked.size, MESSAGES);
      const expected = new Set(acked.values());
      assert.equal(expected.size, MESSAGES, 'one message per event id');

      await receiver.waitFor(
        () => [...expected].every((id) => receiver.accepted.has(id)),
        60_000,
        `all ${MESSAGES} messages`,
      );
      assert.equal(receiver.distinct, MESSAGES, 'no message that was not emitted arrived');
      await assertStored(svix, appId, ackedBeforeKill.values());
      console.log(
        `# duplicates: ${receiver.duplicates} (${receiver.requests.length} requests, ` +
          `all delivered ${seconds(began)} after start)`,
      );
    } finally {
      await stopServer(server);
      await receiver.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('PostgreSQL: one API and two workers, SIGKILL a worker: all arrive, never twice at once', {
    skip: !available.includes('postgres') && 'PostgreSQL not reachable',
  }, async () => {
    const began = performance.now();
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-crash-'));
    const database = await createPostgresDatabase();
    const receiver = await Receiver.start({ latencyMs: [20, 50], failureRate: 0.2 });
    const env = {
      ...serverEnv(database.url, dataDir),
      // Without NOTIFY an idle worker would look again only after 30 s.
      SWITCHBOARD_IDLE_POLL_MS: '30000',
    };
    const servers: SpawnedServer[] = [];
    const observer = new pg.Client({ connectionString: database.url });
    try {
      // The API first: it runs the migrations, so the workers start on a ready schema.
      const api = await spawnServer({ ...env, SWITCHBOARD_ROLE: 'api' });
      servers.push(api);
      const workers = await Promise.all([
        spawnServer({ ...env, SWITCHBOARD_ROLE: 'worker' }),
        spawnServer({ ...env, SWITCHBOARD_ROLE: 'worker' }),
      ]);
      servers.push(...workers);
      await observer.connect();
      // Both workers hold a LISTEN before anything is emitted (a listener's last statement).
      const deadline = performance.now() + 10_000;
      for (;;) {
        const { rows } = await observer.query<{ n: string }>(
          "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'",
        );
        if (Number(rows[0].n) >= 2) break;
        assert.ok(performance.now() < deadline, 'both workers LISTEN within 10 s');
        await sleep(50);
      }

      const svix = sdk(api);
      const appId = await setUp(svix, receiver.url);

      // NOTIFY: the first message is picked up by an idle worker in another process at once.
      const acked: Acked = new Map();
      const emittedAt = performance.now();
      assert.deepEqual(await emit(svix, appId, [0], acked), []);
      await receiver.waitFor(() => receiver.distinct >= 1, 10_000, 'the first message');
      console.log(
        `# first message delivered ${Math.round(performance.now() - emittedAt)} ms after emit`,
      );

      const indices = Array.from({ length: MESSAGES - 1 }, (_, i) => i + 1);
      const emitting = emit(svix, appId, indices, acked);
      await receiver.waitFor(() => receiver.distinct >= 50, 30_000, '50 deliveries');
      // Kill the victim while it holds several claims, so it leaves work behind.
      const victim = workers[0];
      const victimId = await workerIdOf(victim);
      const claimDeadline = performance.now() + 20_000;
      while ((await leases(observer)).filter((lease) => lease.worker === victimId).length < 3) {
        assert.ok(performance.now() < claimDeadline, 'the victim holds 3 claims at some point');
        await sleep(2);
      }
      const inFlightAtKill = receiver.inFlight;
      const deliveredAtKill = receiver.distinct;
      const killedAt = performance.now();
      victim.child.kill('SIGKILL');
      await victim.exited;
      const orphaned = (await leases(observer)).filter((lease) => lease.worker === victimId);
      console.log(
        `# killed a worker with ${deliveredAtKill} delivered, ${inFlightAtKill} in flight, ` +
          `${orphaned.length} claims left behind`,
      );
      assert.ok(orphaned.length > 0, 'the killed worker left claims behind');
      assert.deepEqual(await emitting, [], 'the API process acknowledged every message');
      const expected = new Set(acked.values());
      assert.equal(expected.size, MESSAGES);

      await receiver.waitFor(
        () => [...expected].every((id) => receiver.accepted.has(id)),
        45_000,
        `all ${MESSAGES} messages`,
      );
      assert.equal(receiver.distinct, MESSAGES);
      for (const { msgId } of orphaned) {
        assert.ok(receiver.accepted.has(msgId), `the survivor delivered ${msgId} after the lease`);
      }
      const concurrent = receiver.overlaps(killedAt);
      assert.deepEqual(
        concurrent.map(
          ([a, b]) =>
            `${a.id} ${a.start.toFixed(0)}–${a.end.toFixed(0)} / ${b.start.toFixed(0)}–${b.end.toFixed(0)}`,
        ),
        [],
        'no message was delivered twice at once while both workers lived',
      );
      await assertStored(svix, appId, expected);
      console.log(
        `# duplicates: ${receiver.duplicates} (${receiver.requests.length} requests; ` +
          `${receiver.overlaps().length} overlaps in the whole run; all delivered ${seconds(began)} after start)`,
      );
    } finally {
      await observer.end().catch(() => {});
      await Promise.all(servers.map(stopServer));
      await receiver.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('PostgreSQL: the LISTEN connection comes back after the server drops it', {
    skip: !available.includes('postgres') && 'PostgreSQL not reachable',
  }, async () => {
    const database = await createPostgresDatabase();
    const db = new PostgresDatabase(database.url, { max: 2 });
    const channel = `switchboard_test_${randomBytes(4).toString('hex')}`;
    const warnings: string[] = [];
    let calls = 0;
    const listener = listen(database.url, channel, () => calls++, {
      minBackoffMs: 20,
      log: { warn: (_, message) => warnings.push(message), info: () => {} },
    });
    const until = async (condition: () => boolean | Promise<boolean>, what: string) => {
      const deadline = performance.now() + 5_000;
      while (!(await condition())) {
        assert.ok(performance.now() < deadline, `timed out waiting for ${what}`);
        await sleep(20);
      }
    };
    const listenerPid = async () =>
      (
        await db.get<{ pid: number }>(
          'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = ?',
          [`LISTEN "${channel}"`],
        )
      )?.pid;
    try {
      await until(async () => (await listenerPid()) !== undefined, 'the LISTEN');
      await until(() => calls === 1, 'the wake-up that follows a connection');
      await notify(db, channel);
      await until(() => calls === 2, 'a notification');

      const pid = await listenerPid();
      await db.get('SELECT pg_terminate_backend(?)', [pid ?? 0]);
      await until(async () => {
        const now = await listenerPid();
        return now !== undefined && now !== pid;
      }, 'a new LISTEN connection');
      await until(() => calls === 3, 'the wake-up after reconnecting');
      assert.ok(
        warnings.some((message) => /connection lost/.test(message)),
        'the loss is logged',
      );
      await notify(db, channel);
      await until(() => calls === 4, 'a notification after reconnecting');

      await listener.close();
      await notify(db, channel);
      await sleep(100);
      assert.equal(calls, 4, 'nothing after close');
      assert.equal(await listenerPid(), undefined, 'the connection is closed');
    } finally {
      await listener.close();
      await db.close();
      await database.drop();
    }
  });
});
