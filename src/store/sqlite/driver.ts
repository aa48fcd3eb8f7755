import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { type Database, GroupCommit, type Sql, type SqlValue, UniqueViolation } from '../sql.js';

type Statement = BetterSqlite3.Statement<SqlValue[]>;

/** Prepared statements kept per connection. */
export const STATEMENT_CACHE_MAX = 256;

/** How often the checkpointer thread copies committed WAL frames into the database file. */
const CHECKPOINT_INTERVAL_MS = 100;
/** WAL pages (4 KiB) after which a commit on the main connection checkpoints itself. */
const WAL_RESTART_PAGES = 8192;

/**
 * SQLite through better-sqlite3: one connection in WAL mode. Its calls are synchronous, so the
 * only thing to guard is a transaction whose callback awaits: while one is open, every other
 * caller waits on `lock` instead of slipping statements into it.
 */
export class SqliteDatabase implements Database {
  readonly dialect = 'sqlite' as const;
  private readonly db: BetterSqlite3.Database;
  private readonly statements = new Map<string, Statement>();
  private lastSql: string | undefined;
  private lock: Promise<void> | undefined;
  private readonly group: GroupCommit;
  private readonly direct: Sql;
  private readonly checkpointer: Worker | undefined;
  private checkpointerExited = false;

  constructor(path: string, options: { synchronous?: 'FULL' | 'NORMAL' } = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new BetterSqlite3(path);
    this.db.pragma('journal_mode = WAL');
    // FULL: a COMMIT is on disk before we answer 2xx; group commit keeps that affordable.
    this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    if (path !== ':memory:') {
      // Checkpoints move to a thread of their own: left to SQLite, the COMMIT that crosses the
      // WAL's size threshold (4 MB) copies the WAL into the database (and syncs it) on the
      // event loop, which is what the slowest requests wait for. The checkpointer's PASSIVE
      // checkpoints never take the write lock. This connection still checkpoints every 32 MB
      // of WAL: by then the thread has copied nearly every frame, so it is cheap, and it is
      // what lets the next commit restart the WAL from its beginning under sustained load
      // (SQLite restarts it only when a writer finds every frame copied).
      this.db.pragma(`wal_autocheckpoint = ${WAL_RESTART_PAGES}`);
      const checkpointer = new Worker(new URL('./checkpointer.mjs', import.meta.url), {
        workerData: { path, intervalMs: CHECKPOINT_INTERVAL_MS },
      });
      checkpointer.unref();
      // Should the thread die, SQLite checkpoints inside commits again: slower, never unbounded.
      checkpointer.on('error', () => {});
      checkpointer.once('exit', () => {
        this.checkpointerExited = true;
        if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
      });
      this.checkpointer = checkpointer;
    }
    this.direct = {
      dialect: 'sqlite',
      all: async <T>(sql: string, params: readonly SqlValue[] = []) => this.allNow<T>(sql, params),
      get: async <T>(sql: string, params: readonly SqlValue[] = []) => this.getNow<T>(sql, params),
      run: async (sql: string, params: readonly SqlValue[] = []) => this.runNow(sql, params),
    };
    this.group = new GroupCommit((fn) => this.transaction(fn));
  }

  /**
   * Prepared statements by SQL text, least recently used dropped beyond `STATEMENT_CACHE_MAX`
   * (preparing is far dearer than running; texts built per request, e.g. IN lists of any
   * length, must not grow the cache without bound).
   */
  private prepare(sql: string): Statement {
    const statements = this.statements;
    let statement = statements.get(sql);
    if (statement !== undefined) {
      if (this.lastSql !== sql) {
        // Move to the most recent end (skipped for a run of the same statement).
        statements.delete(sql);
        statements.set(sql, statement);
        this.lastSql = sql;
      }
      return statement;
    }
    statement = this.db.prepare<SqlValue[]>(sql);
    statements.set(sql, statement);
    this.lastSql = sql;
    if (statements.size > STATEMENT_CACHE_MAX) {
      const oldest = statements.keys().next().value;
      if (oldest !== undefined) statements.delete(oldest);
    }
    return statement;
  }

  /** How many statements are prepared and kept (for tests). */
  get preparedStatements(): number {
    return this.statements.size;
  }

  private guard<T>(run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (error instanceof Error && /UNIQUE constraint failed/.test(error.message)) {
        throw new UniqueViolation(error.message);
      }
      throw error;
    }
  }

  private allNow<T>(sql: string, params: readonly SqlValue[]): T[] {
    return this.guard(() => this.prepare(sql).all(...params) as T[]);
  }

  private getNow<T>(sql: string, params: readonly SqlValue[]): T | undefined {
    return this.guard(() => this.prepare(sql).get(...params) as T | undefined);
  }

  private runNow(sql: string, params: readonly SqlValue[]): number {
    return this.guard(() => this.prepare(sql).run(...params).changes);
  }

  private async waitForLock(): Promise<void> {
    while (this.lock) await this.lock;
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    if (this.lock) await this.waitForLock();
    return this.allNow<T>(sql, params);
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    if (this.lock) await this.waitForLock();
    return this.getNow<T>(sql, params);
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    if (this.lock) await this.waitForLock();
    return this.runNow(sql, params);
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    await this.waitForLock();
    let release = () => {};
    this.lock = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.direct);
        this.db.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    } finally {
      this.lock = undefined;
      release();
    }
  }

  batch<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.group.submit(fn);
  }

  async exec(script: string): Promise<void> {
    await this.waitForLock();
    this.db.exec(script);
  }

  async close(): Promise<void> {
    await this.group.drain();
    await this.waitForLock();
    if (this.checkpointer && !this.checkpointerExited) {
      // Unreferenced while running (it must not keep the process alive); not while stopping.
      this.checkpointer.ref();
      const stopped = once(this.checkpointer, 'exit');
      this.checkpointer.postMessage('stop');
      await stopped;
    }
    this.db.close();
  }
}
