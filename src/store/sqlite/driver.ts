import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { type Database, GroupCommit, type Sql, type SqlValue, UniqueViolation } from '../sql.js';

type Statement = BetterSqlite3.Statement<SqlValue[]>;

/** Prepared statements kept per connection. */
export const STATEMENT_CACHE_MAX = 256;

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

  constructor(path: string, options: { synchronous?: 'FULL' | 'NORMAL' } = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new BetterSqlite3(path);
    this.db.pragma('journal_mode = WAL');
    // FULL: a COMMIT is on disk before we answer 2xx; group commit keeps that affordable.
    this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
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
    this.db.close();
  }
}
