// The PostgreSQL driver's statements: those with parameters are prepared once per connection
// (parsed once, run by name afterwards, planned with each execution's values), those without go
// by the simple protocol, which the group commit's multi-command control statements need.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Database } from '../../src/store/sql.js';
import { backends, openTestDatabase } from '../helpers/backends.js';

if ((await backends()).includes('postgres')) {
  describe('postgres driver statements', () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ db, cleanup } = await openTestDatabase('postgres'));
    });
    after(() => cleanup());

    it('prepares a statement with parameters once per connection and reuses it', async () => {
      const sql = 'SELECT value FROM settings WHERE key = ? AND value <> ?';
      await db.run('INSERT INTO settings (key, value) VALUES (?, ?)', ['prepared', 'yes']);
      // One transaction: one connection, whose prepared statements pg_prepared_statements lists.
      const prepared = await db.transaction(async (tx) => {
        const first = await tx.get<{ value: string }>(sql, ['prepared', 'no']);
        const second = await tx.get<{ value: string }>(sql, ['prepared', 'yes']);
        assert.equal(first?.value, 'yes');
        assert.equal(second, undefined, 'the second run binds its own parameters');
        return tx.all<{ name: string; parameter_types: string }>(
          'SELECT name, parameter_types::text FROM pg_prepared_statements WHERE statement = ?',
          ['SELECT value FROM settings WHERE key = $1 AND value <> $2'],
        );
      });
      assert.equal(prepared.length, 1, 'prepared once, by name');
      assert.match(prepared[0]?.name ?? '', /^sb\d+$/);
    });

    it('plans every execution with its own values on every connection', async () => {
      // Several at once, so that more than one connection of the pool answers.
      const modes = await Promise.all(
        Array.from({ length: 6 }, () =>
          db.transaction((tx) =>
            tx.get<{ mode: string }>("SELECT current_setting('plan_cache_mode') AS mode"),
          ),
        ),
      );
      assert.deepEqual(
        modes.map((row) => row?.mode),
        Array(6).fill('force_custom_plan'),
      );
    });

    it('sends a statement without parameters as it is, several commands included', async () => {
      await db.transaction(async (tx) => {
        await tx.run('SAVEPOINT two; RELEASE SAVEPOINT two');
        const unprepared = await tx.all<{ statement: string }>(
          'SELECT statement FROM pg_prepared_statements WHERE statement LIKE ?',
          ['SAVEPOINT%'],
        );
        assert.deepEqual(unprepared, []);
      });
    });
  });
}
