import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newId } from '../../src/core/ids.js';
import { insertApplication, listApplications } from '../../src/store/applications.js';
import { migrate, migrations } from '../../src/store/migrations.js';
import { type Database, UniqueViolation } from '../../src/store/sql.js';
import { backends, openTestDatabase } from '../helpers/backends.js';

/** One suite, both engines: whatever the services rely on must hold for SQLite and PostgreSQL. */
for (const backend of await backends()) {
  describe(`store contract (${backend})`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;

    before(async () => {
      ({ db, cleanup } = await openTestDatabase(backend));
    });
    after(() => cleanup());

    it('applies every migration once and records it', async () => {
      const rows = await db.all<{ version: number }>(
        'SELECT version FROM schema_migrations ORDER BY version',
      );
      assert.deepEqual(
        rows.map((row) => row.version),
        migrations.map((m) => m.version),
      );
      assert.deepEqual(await migrate(db), [], 'a second run applies nothing');
    });

    it('round-trips text, integers, millisecond timestamps and NULL', async () => {
      const now = Date.now();
      await db.run('INSERT INTO settings (key, value) VALUES (?, ?)', [
        'round-trip',
        'héllo ✓ "quoted"',
      ]);
      const row = await db.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', [
        'round-trip',
      ]);
      assert.equal(row?.value, 'héllo ✓ "quoted"');
      const id = newId('application');
      await insertApplication(db, {
        id,
        uid: null,
        name: 'n',
        throttleRate: null,
        metadata: { k: 'v' },
        createdAt: now,
        updatedAt: now,
      });
      const app = await db.get<{ created_at: number; uid: string | null }>(
        'SELECT created_at, uid FROM applications WHERE id = ?',
        [id],
      );
      assert.equal(app?.created_at, now, 'BIGINT comes back as the same number');
      assert.equal(app?.uid, null);
    });

    it('reports unique violations as UniqueViolation', async () => {
      await db.run('INSERT INTO settings (key, value) VALUES (?, ?)', ['unique', '1']);
      await assert.rejects(
        db.run('INSERT INTO settings (key, value) VALUES (?, ?)', ['unique', '2']),
        UniqueViolation,
      );
    });

    it('rolls a failed transaction back entirely', async () => {
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.run('INSERT INTO settings (key, value) VALUES (?, ?)', ['tx-1', 'x']);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await db.get('SELECT value FROM settings WHERE key = ?', ['tx-1']), undefined);
    });

    it('group-commits concurrent batches and isolates a failing one', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 300 }, (_, i) =>
          db.batch(async (tx) => {
            await tx.run('INSERT INTO settings (key, value) VALUES (?, ?)', [
              `batch-${i}`,
              String(i),
            ]);
            if (i === 150) throw new Error('item 150 fails');
            return i;
          }),
        ),
      );
      const rejected = results.filter((r) => r.status === 'rejected');
      assert.equal(rejected.length, 1);
      const count = await db.get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM settings WHERE key LIKE 'batch-%'",
      );
      assert.equal(Number(count?.n), 299, 'every other write committed');
      assert.equal(await db.get('SELECT 1 FROM settings WHERE key = ?', ['batch-150']), undefined);
    });

    it('keeps concurrent readers out of an open transaction', async () => {
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const tx = db.transaction(async (sql) => {
        await sql.run('INSERT INTO settings (key, value) VALUES (?, ?)', ['isolated', 'x']);
        await gate;
        throw new Error('rolled back');
      });
      const read = db.get('SELECT value FROM settings WHERE key = ?', ['isolated']);
      release();
      await assert.rejects(tx);
      assert.equal(await read, undefined, 'an uncommitted write is never visible outside');
    });

    it('pages by key in both directions', async () => {
      const before = await listApplications(db, { limit: 250, order: 'asc' });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const id = newId('application');
        ids.push(id);
        await insertApplication(db, {
          id,
          uid: null,
          name: `p${i}`,
          throttleRate: null,
          metadata: {},
          createdAt: 1,
          updatedAt: 1,
        });
      }
      const start = before.data.at(-1)?.id ?? null;
      const page = await listApplications(db, { limit: 2, order: 'asc', iterator: start });
      assert.deepEqual(
        page.data.map((a) => a.id),
        ids.slice(0, 2),
      );
      assert.equal(page.done, false);
      const next = await listApplications(db, { limit: 2, order: 'asc', iterator: page.iterator });
      assert.deepEqual(
        next.data.map((a) => a.id),
        ids.slice(2, 4),
      );
      const back = await listApplications(db, {
        limit: 2,
        order: 'asc',
        iterator: next.prevIterator,
      });
      assert.deepEqual(
        back.data.map((a) => a.id),
        ids.slice(0, 2),
      );
      const desc = await listApplications(db, { limit: 3, order: 'desc' });
      assert.deepEqual(
        desc.data.map((a) => a.id),
        [ids[4], ids[3], ids[2]],
      );
    });
  });
}
