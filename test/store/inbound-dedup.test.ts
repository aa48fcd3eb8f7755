import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newId } from '../../src/core/ids.js';
import { insertInboundEvent } from '../../src/store/inbound-events.js';
import { migrate, migrations } from '../../src/store/migrations.js';
import { openDatabase } from '../../src/store/open.js';
import { insertSource, type SourceId } from '../../src/store/sources.js';
import type { Database, Sql } from '../../src/store/sql.js';
import { SqliteDatabase } from '../../src/store/sqlite/driver.js';
import { backends, openTestDatabase } from '../helpers/backends.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);

async function newSource(db: Sql): Promise<SourceId> {
  const id = newId('source') as SourceId;
  await insertSource(db, {
    id,
    uid: null,
    name: 'dedup',
    type: 'github',
    sealedConfig: 'x',
    sealedToken: 'x',
    tokenHash: id,
    previousTokenHash: null,
    previousTokenExpiresAt: null,
    metadata: {},
    createdAt: T0,
    updatedAt: T0,
  });
  return id;
}

function store(sql: Sql, sourceId: SourceId, dedupKey: string, receivedAt: number, windowMs = DAY) {
  return insertInboundEvent(
    sql,
    {
      id: newId('event', receivedAt),
      sourceId,
      receivedAt,
      method: 'POST',
      query: '',
      headers: {},
      body: Buffer.from('{}'),
      providerEventId: null,
      eventType: null,
      dedupKey,
    },
    windowMs,
  );
}

/** De-duplication as the receiver uses it, on both engines (SQLite answers from memory first). */
for (const backend of await backends()) {
  describe(`inbound de-duplication in the store (${backend})`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    let source: SourceId;

    before(async () => {
      ({ db, cleanup } = await openTestDatabase(backend));
      source = await newSource(db);
    });
    after(() => cleanup());

    it('only SQLite says it is the sole writer, on the database and in every transaction', async () => {
      const sole = backend === 'sqlite';
      assert.equal(db.soleWriter !== undefined, sole);
      const inBatch = await db.batch(async (tx) => tx.soleWriter);
      const inTransaction = await db.transaction(async (tx) => tx.soleWriter);
      assert.equal(inBatch, db.soleWriter, 'the same object: the memory is per database');
      assert.equal(inTransaction, db.soleWriter);
    });

    it('a key seen within the window is a duplicate; per source; not after the window', async () => {
      const other = await newSource(db);
      assert.equal(await db.batch((tx) => store(tx, source, 'id:a', T0)), 'received');
      assert.equal(await db.batch((tx) => store(tx, source, 'id:a', T0 + 1000)), 'duplicate');
      assert.equal(await db.batch((tx) => store(tx, source, 'id:b', T0 + 1000)), 'received');
      assert.equal(await db.batch((tx) => store(tx, other, 'id:a', T0 + 1000)), 'received');
      // The duplicate is stored too: the window runs from the last one.
      assert.equal(await db.batch((tx) => store(tx, source, 'id:a', T0 + DAY + 500)), 'duplicate');
      assert.equal(
        await db.batch((tx) => store(tx, source, 'id:a', T0 + 2 * DAY + 501)),
        'received',
      );
    });

    it('two of the same key in one group commit: the second is the duplicate', async () => {
      const statuses = await Promise.all([
        db.batch((tx) => store(tx, source, 'id:group', T0 + 5000)),
        db.batch((tx) => store(tx, source, 'id:group', T0 + 5000)),
      ]);
      assert.deepEqual(statuses, ['received', 'duplicate']);
    });

    it('a rolled-back event leaves no duplicate behind', async () => {
      await assert.rejects(
        db.transaction(async (tx) => {
          assert.equal(await store(tx, source, 'id:rolled-back', T0 + 6000), 'received');
          throw new Error('roll back');
        }),
        /roll back/,
      );
      assert.equal(
        await db.batch((tx) => store(tx, source, 'id:rolled-back', T0 + 7000)),
        'received',
      );
      assert.equal(
        await db.batch((tx) => store(tx, source, 'id:rolled-back', T0 + 8000)),
        'duplicate',
      );
    });

    it('a longer window reaches events stored with a shorter one', async () => {
      const minute = 60_000;
      assert.equal(await db.batch((tx) => store(tx, source, 'id:w', T0, minute)), 'received');
      // Ten minutes later: outside the old window, inside the new one.
      assert.equal(
        await db.batch((tx) => store(tx, source, 'id:w', T0 + 10 * minute, minute)),
        'received',
      );
      assert.equal(
        await db.batch((tx) => store(tx, source, 'id:w', T0 + 12 * minute, 30 * minute)),
        'duplicate',
      );
    });
  });
}

describe('inbound de-duplication after a restart (sqlite: the keys are read back)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-dedup-'));
  const url = `sqlite:${join(dir, 'test.db')}`;
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds keys stored before the restart, over more than one page of them', async () => {
    const first = await openDatabase(url);
    const source = await newSource(first);
    // 25 000 events in one millisecond-spaced run: more than two pages of the reload.
    await first.transaction(async (tx) => {
      for (let index = 0; index < 25_000; index++) {
        await store(tx, source, `id:${index}`, T0 + index);
      }
    });
    await first.close();

    const second = await openDatabase(url);
    try {
      const now = T0 + 60_000;
      for (const index of [0, 9_999, 10_000, 19_999, 24_999]) {
        assert.equal(
          await second.batch((tx) => store(tx, source, `id:${index}`, now)),
          'duplicate',
          `id:${index}`,
        );
      }
      assert.equal(await second.batch((tx) => store(tx, source, 'id:new', now)), 'received');
      // The reload used the index that replaced the one by key (migration 6).
      const indexes = await second.all<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'inbound_events' ORDER BY name",
      );
      assert.deepEqual(
        indexes.map((row) => row.name).filter((name) => !name.startsWith('sqlite_')),
        ['inbound_events_received', 'inbound_events_source'],
      );
    } finally {
      await second.close();
    }
  });

  it('a database from before migration 6 keeps its duplicates: the index is replaced, the keys read back', async () => {
    const path = join(dir, 'upgrade.db');
    const old = new SqliteDatabase(path);
    await migrate(
      old,
      migrations.filter((migration) => migration.version < 6),
    );
    const source = await newSource(old);
    assert.equal(await old.batch((tx) => store(tx, source, 'id:before', T0)), 'received');
    await old.close();

    const upgraded = await openDatabase(`sqlite:${path}`);
    try {
      assert.equal(
        await upgraded.batch((tx) => store(tx, source, 'id:before', T0 + 1000)),
        'duplicate',
      );
      const index = await upgraded.get<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'inbound_events_dedup'",
      );
      assert.equal(index, undefined, 'the index by key is gone');
    } finally {
      await upgraded.close();
    }
  });
});
