import { resolve } from 'node:path';
import { migrate } from './migrations.js';
import { PostgresDatabase } from './postgres/driver.js';
import type { Database } from './sql.js';
import { SqliteDatabase } from './sqlite/driver.js';

/** Opens the database named by `DATABASE_URL` and brings its schema up to date. */
export async function openDatabase(
  url: string,
  options: { sqliteSynchronous?: 'FULL' | 'NORMAL'; groupTransactions?: number } = {},
): Promise<Database> {
  const db: Database = url.startsWith('sqlite:')
    ? new SqliteDatabase(
        url.slice('sqlite:'.length) === ':memory:'
          ? ':memory:'
          : resolve(url.slice('sqlite:'.length)),
        { synchronous: options.sqliteSynchronous },
      )
    : new PostgresDatabase(url, { groupTransactions: options.groupTransactions });
  try {
    await migrate(db);
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
  return db;
}
