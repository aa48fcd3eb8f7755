import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { type DeliveryId, type MessageId, newId } from '../../src/core/ids.js';
import { type Database, UniqueViolation } from '../../src/store/sql.js';
import { SqliteDatabase, STATEMENT_CACHE_MAX } from '../../src/store/sqlite/driver.js';
import { backends, openTestDatabase } from '../helpers/backends.js';
import { waitFor } from '../helpers/wait.js';

describe('SQLite prepared statement cache', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-stmt-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reuses statements by text and keeps at most STATEMENT_CACHE_MAX of them', async () => {
    const db = new SqliteDatabase(join(dir, 'cache.db'));
    try {
      await db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)');
      await db.run('INSERT INTO t (k, v) VALUES (?, ?)', [1, 'one']);
      const before = db.preparedStatements;
      for (let i = 0; i < 50; i++) {
        assert.equal((await db.get<{ v: string }>('SELECT v FROM t WHERE k = ?', [1]))?.v, 'one');
      }
      assert.equal(db.preparedStatements, before + 1, 'one text, one statement');
      // Texts built per call (IN lists, literals) must not grow the cache without bound.
      for (let i = 0; i < STATEMENT_CACHE_MAX * 2; i++) {
        assert.equal((await db.all(`SELECT v FROM t WHERE k = ${i}`)).length, i === 1 ? 1 : 0);
      }
      assert.equal(db.preparedStatements, STATEMENT_CACHE_MAX);
      // An evicted statement is prepared again and still works.
      assert.equal((await db.get<{ v: string }>('SELECT v FROM t WHERE k = ?', [1]))?.v, 'one');
    } finally {
      await db.close();
    }
  });
});

describe('SQLite WAL checkpoints', () => {
  /** A fresh SQLite file with a table `t (id, body)`, removed afterwards. */
  async function withTable(use: (db: SqliteDatabase, path: string) => Promise<void>) {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-wal-'));
    const path = join(dir, 'wal.db');
    const db = new SqliteDatabase(path);
    try {
      await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
      await use(db, path);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  /** `count` rows of ~4 KB through the group commit, all submitted at once. */
  const insertRows = (db: SqliteDatabase, count: number) =>
    Promise.all(
      Array.from({ length: count }, () =>
        db.batch((tx) => tx.run('INSERT INTO t (body) VALUES (?)', ['x'.repeat(4000)])),
      ),
    );
  const rowCount = async (db: SqliteDatabase) =>
    (await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM t'))?.n;

  it("copies the WAL into the database on a thread of its own, not in the writer's COMMIT", () =>
    withTable(async (db, path) => {
      // ~2 MB: below SQLite's own auto-checkpoint (1 000 pages), so only the thread copies it.
      await insertRows(db, 500);
      await waitFor('the checkpointer to fill the database file', () =>
        statSync(path).size >= 2_000_000 ? true : undefined,
      );
      assert.equal(await rowCount(db), 500);
    }));

  it('falls back to checkpoints in COMMIT when the checkpointer thread dies', () =>
    withTable(async (db, path) => {
      // Reaching into the driver: the thread's death is not something the API can cause.
      const internals = db as unknown as { checkpointer?: { worker: Worker } };
      await internals.checkpointer?.worker.terminate();
      await waitFor('the driver to notice', () => internals.checkpointer === undefined);
      let largest = 0;
      // ~20 MB: without any checkpoint the WAL would hold all of it.
      for (let round = 0; round < 50; round++) {
        await insertRows(db, 100);
        largest = Math.max(largest, statSync(`${path}-wal`).size);
      }
      assert.ok(largest < 12 * 1024 * 1024, `the WAL grew to ${largest} bytes`);
      assert.equal(await rowCount(db), 5_000);
    }));

  it('keeps the WAL bounded under sustained writes, and loses nothing across close', () =>
    withTable(async (db, path) => {
      let largest = 0;
      // ~80 MB of WAL written without a pause: checkpoints must keep restarting it.
      for (let round = 0; round < 200; round++) {
        await insertRows(db, 100);
        largest = Math.max(largest, statSync(`${path}-wal`).size);
      }
      assert.ok(largest < 48 * 1024 * 1024, `the WAL grew to ${largest} bytes`);
      await db.close();
      const again = new SqliteDatabase(path);
      try {
        assert.equal(await rowCount(again), 20_000);
      } finally {
        await again.close();
      }
    }));
});

for (const backend of await backends()) {
  describe(`group commit and batch reads (${backend})`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;

    before(async () => {
      ({ db, cleanup } = await openTestDatabase(backend));
    });
    after(() => cleanup());

    it(
      backend === 'postgres'
        ? 'runs group transactions side by side on PostgreSQL (each statement is a round trip)'
        : 'runs one group transaction at a time on SQLite (one writer)',
      async () => {
        let markA: () => void = () => {};
        const aStarted = new Promise<void>((resolve) => {
          markA = resolve;
        });
        let markB: () => void = () => {};
        const bStarted = new Promise<boolean>((resolve) => {
          markB = () => resolve(true);
        });
        // A holds its transaction open until B has started (or 1.5 s): B, submitted while A
        // runs, can only start in a transaction of its own, beside A's.
        const a = db.batch(async (tx) => {
          await tx.get('SELECT 1 AS one');
          markA();
          return Promise.race([
            bStarted,
            new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1_500)),
          ]);
        });
        await aStarted;
        const b = db.batch(async (tx) => {
          markB();
          return (await tx.get<{ one: number }>('SELECT 1 AS one'))?.one;
        });
        assert.equal(await a, backend === 'postgres', 'B started while A was open');
        assert.equal(await b, 1);
      },
    );

    it('a lone batch that throws writes nothing and rejects with its error', async () => {
      await assert.rejects(
        db.batch(async (tx) => {
          await tx.run('INSERT INTO settings (key, value) VALUES (?, ?)', ['lone', '1']);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await db.get('SELECT value FROM settings WHERE key = ?', ['lone']), undefined);
    });

    it('isolates failing items among many (first, middle and last)', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 9 }, (_, i) =>
          db.batch(async (tx) => {
            await tx.run('INSERT INTO settings (key, value) VALUES (?, ?)', [`many-${i}`, '1']);
            if (i % 4 === 0)
              await tx.run('INSERT INTO settings (key, value) VALUES (?, ?)', [`many-${i}`, '2']);
            return i;
          }),
        ),
      );
      for (const [i, result] of results.entries()) {
        if (i % 4 === 0) {
          assert.equal(result.status, 'rejected');
          assert.ok((result as PromiseRejectedResult).reason instanceof UniqueViolation);
        } else assert.deepEqual(result, { status: 'fulfilled', value: i });
      }
      const rows = await db.all<{ key: string }>(
        "SELECT key FROM settings WHERE key LIKE 'many-%' ORDER BY key",
      );
      assert.deepEqual(
        rows.map((row) => row.key),
        [1, 2, 3, 5, 6, 7].map((i) => `many-${i}`),
      );
    });

    it('transactions queued behind one another each commit or roll back alone, with no other write inside', async () => {
      const INSERT = 'INSERT INTO settings (key, value) VALUES (?, ?)';
      const pause = () => new Promise((resolve) => setTimeout(resolve, 5));
      // While the first transaction is open, three more and an autocommit write queue up
      // behind it (SQLite: one connection, one transaction at a time). Each transaction must
      // begin only after the one before it ended, and the write must not run inside the
      // transaction that then rolls back.
      const first = db.transaction(async (tx) => {
        await tx.run(INSERT, ['queued-first', '1']);
        await pause();
        return 'first';
      });
      const failing = db.transaction(async (tx) => {
        await tx.run(INSERT, ['queued-failing', '1']);
        await pause();
        throw new Error('rolled back');
      });
      const write = db.run(INSERT, ['queued-outside', '1']);
      const more = [1, 2].map((i) =>
        db.transaction(async (tx) => {
          await tx.run(INSERT, [`queued-more-${i}`, '1']);
          await pause();
          return i;
        }),
      );
      const [firstDone, failed, written, ...moreDone] = await Promise.allSettled([
        first,
        failing,
        write,
        ...more,
      ]);
      assert.deepEqual(firstDone, { status: 'fulfilled', value: 'first' });
      assert.equal(failed.status, 'rejected');
      assert.match(String((failed as PromiseRejectedResult).reason), /rolled back/);
      assert.deepEqual(written, { status: 'fulfilled', value: 1 });
      assert.deepEqual(moreDone, [
        { status: 'fulfilled', value: 1 },
        { status: 'fulfilled', value: 2 },
      ]);
      const stored = await db.all<{ key: string }>(
        "SELECT key FROM settings WHERE key LIKE 'queued-%' ORDER BY key",
      );
      assert.deepEqual(
        stored.map((row) => row.key),
        ['queued-first', 'queued-more-1', 'queued-more-2', 'queued-outside'],
      );
    });

    if (backend === 'postgres') {
      it('runs a group again when PostgreSQL aborts it to break a deadlock', async () => {
        const LOCK = 'SELECT pg_advisory_xact_lock(hashtextextended(?, 0))';
        const INSERT = 'INSERT INTO settings (key, value) VALUES (?, ?)';
        let aHoldsFirst: () => void = () => {};
        const aLocked = new Promise<void>((resolve) => {
          aHoldsFirst = resolve;
        });
        let bHoldsSecond: () => void = () => {};
        const bLocked = new Promise<void>((resolve) => {
          bHoldsSecond = resolve;
        });
        const runs = { a: 0, b: 0 };
        // Group A: an item that fails on its own (so A runs in savepoints), then one that
        // locks "first" then "second". Group B, beside it, locks them in the opposite order
        // once A holds "first": PostgreSQL aborts one of the two (40P01) after its
        // deadlock_timeout. The aborted group must run again, not fail its items.
        const failing = db.batch(async () => {
          throw new Error('boom');
        });
        const a = db.batch(async (tx) => {
          runs.a++;
          await tx.get(LOCK, ['deadlock-first']);
          if (runs.a === 1) {
            aHoldsFirst();
            await bLocked;
          }
          await tx.get(LOCK, ['deadlock-second']);
          await tx.run(INSERT, ['deadlock-a', String(runs.a)]);
          return 'a';
        });
        await aLocked;
        const b = db.batch(async (tx) => {
          runs.b++;
          await tx.get(LOCK, ['deadlock-second']);
          if (runs.b === 1) bHoldsSecond();
          await tx.get(LOCK, ['deadlock-first']);
          await tx.run(INSERT, ['deadlock-b', String(runs.b)]);
          return 'b';
        });
        await assert.rejects(failing, /boom/);
        assert.deepEqual(await Promise.all([a, b]), ['a', 'b']);
        assert.ok(runs.a + runs.b >= 3, `one of the two ran again (${JSON.stringify(runs)})`);
        const stored = await db.all<{ key: string }>(
          "SELECT key FROM settings WHERE key LIKE 'deadlock-%' ORDER BY key",
        );
        assert.deepEqual(
          stored.map((row) => row.key),
          ['deadlock-a', 'deadlock-b'],
        );
      });
    }

    it('reads and completes batches of any size with padded IN lists', async () => {
      const { getMessagesByIds, insertMessage } = await import('../../src/store/messages.js');
      const { insertDeliveries, completeDeliveries, claimDueDeliveries, findDelivery } =
        await import('../../src/store/deliveries.js');
      const { insertApplication } = await import('../../src/store/applications.js');
      const { insertAttempts } = await import('../../src/store/attempts.js');
      const now = Date.now();
      const appId = newId('application', now);
      await insertApplication(db, {
        id: appId,
        uid: null,
        name: 'batching',
        throttleRate: null,
        metadata: {},
        createdAt: now,
        updatedAt: now,
      } as never);
      const endpointId = newId('endpoint', now);
      await db.run(
        "INSERT INTO endpoints (id, app_id, url, description, version, disabled, metadata, headers, secret, created_at, updated_at) VALUES (?, ?, 'https://example.com/', '', 1, 0, '{}', '', '', ?, ?)",
        [endpointId, appId, now, now],
      );
      const ids: MessageId[] = [];
      for (let i = 0; i < 5; i++) {
        const id = newId('message', now) as MessageId;
        ids.push(id);
        await insertMessage(db, {
          id,
          appId,
          eventId: null,
          eventType: 'x',
          payload: `{"i":${i}}`,
          channels: null,
          tags: null,
          createdAt: now,
          payloadExpiresAt: null,
        });
      }
      const found = await getMessagesByIds(db, [...ids, ids[0]]);
      assert.deepEqual([...found.keys()].sort(), [...ids].sort());
      assert.equal(found.get(ids[3])?.payload, '{"i":3}');

      await insertDeliveries(
        db,
        ids.map((msgId) => ({
          id: newId('delivery', now) as DeliveryId,
          msgId,
          appId,
          endpointId,
          status: 1,
          triggerType: 0,
          attemptCount: 0,
          nextAttemptAt: now - 1,
          leaseUntil: null,
          leasedBy: null,
          createdAt: now,
          updatedAt: now,
        })) as never,
      );
      const claimed = await db.batch((tx) =>
        claimDueDeliveries(tx, { now, limit: 3, leaseMs: 60_000, worker: 'wk_a' }),
      );
      assert.equal(claimed.length, 3);
      const unclaimed = await db.batch((tx) =>
        claimDueDeliveries(tx, { now, limit: 10, leaseMs: 60_000, worker: 'wk_b' }),
      );
      // wk_a completes its own three and one of wk_b's: only its own change.
      const done = await db.batch((tx) =>
        completeDeliveries(tx, [...claimed.map((d) => d.id), unclaimed[0].id], now, 'wk_a'),
      );
      assert.deepEqual([...done].sort(), claimed.map((d) => d.id).sort());
      const first = await findDelivery(db, claimed[0].id);
      assert.equal(first?.status, 0);
      assert.equal(first?.attemptCount, 1);
      assert.equal(first?.nextAttemptAt, null);
      assert.equal(first?.leasedBy, null);
      assert.equal((await findDelivery(db, unclaimed[0].id))?.leasedBy, 'wk_b');

      // 7 attempts: chunks of 4 + 2 + 1 rows.
      await insertAttempts(
        db,
        Array.from({ length: 7 }, (_, i) => ({
          id: newId('attempt', now),
          msgId: ids[i % ids.length],
          endpointId,
          appId,
          deliveryId: null,
          url: 'https://example.com/',
          response: `r${i}`,
          responseStatusCode: 200,
          responseDurationMs: i,
          status: 0,
          triggerType: 0,
          error: null,
          createdAt: now,
        })) as never,
      );
      const count = await db.get<{ n: number }>(
        'SELECT COUNT(*) AS n FROM attempts WHERE endpoint_id = ?',
        [endpointId],
      );
      assert.equal(Number(count?.n), 7);
    });
  });
}
