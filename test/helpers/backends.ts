import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase } from '../../src/store/open.js';
import type { Database } from '../../src/store/sql.js';

/**
 * Which databases the suite runs against. SQLite always; PostgreSQL when reachable — and with
 * CI=true it is required, so a CI run can never silently skip it.
 */
export type Backend = 'sqlite' | 'postgres';

export const POSTGRES_ADMIN_URL =
  process.env.SWITCHBOARD_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let probe: Promise<string | undefined> | undefined;

/** Resolves to undefined when PostgreSQL answers, else to the reason it does not. */
function probePostgres(): Promise<string | undefined> {
  probe ??= (async () => {
    const client = new pg.Client({
      connectionString: POSTGRES_ADMIN_URL,
      connectionTimeoutMillis: 3000,
    });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return undefined;
    } catch (error) {
      return `PostgreSQL not reachable at ${POSTGRES_ADMIN_URL}: ${(error as Error).message}`;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return probe;
}

export async function backends(): Promise<Backend[]> {
  const reason = await probePostgres();
  if (reason === undefined) return ['sqlite', 'postgres'];
  if (process.env.CI === 'true') throw new Error(`CI=true requires PostgreSQL. ${reason}`);
  console.log(`# skipping PostgreSQL runs: ${reason}`);
  return ['sqlite'];
}

/** A fresh, empty database for one test server; drop it with the returned function. */
export async function createPostgresDatabase(): Promise<{
  url: string;
  drop: () => Promise<void>;
}> {
  const name = `sb_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** A migrated store of `backend` for store-level tests (no server); `cleanup` removes it. */
export async function openTestDatabase(
  backend: Backend,
): Promise<{ db: Database; cleanup: () => Promise<void> }> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-store-'));
    const db = await openDatabase(`sqlite:${join(dir, 'test.db')}`);
    return {
      db,
      cleanup: async () => {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const pgDb = await createPostgresDatabase();
  const db = await openDatabase(pgDb.url);
  return {
    db,
    cleanup: async () => {
      await db.close();
      await pgDb.drop();
    },
  };
}
