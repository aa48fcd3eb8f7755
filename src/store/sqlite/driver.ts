import { closeSync, fdatasync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { type Database, GroupCommit, type Sql, type SqlValue, UniqueViolation } from '../sql.js';
import { Checkpointer } from './checkpointer.js';

type Statement = BetterSqlite3.Statement<SqlValue[]>;

/** Prepared statements kept per connection. */
export const STATEMENT_CACHE_MAX = 256;

/**
 * Past this many frames in the WAL (~16 MB), a RESTART (`restartWal`) holds the writer back
 * while the checkpointer catches up, so the WAL restarts instead of growing without end. With
 * 16 384 there were fewer stalls, but no more throughput: while the WAL file grows, each
 * fdatasync also commits its new size.
 */
const WAL_RESTART_FRAMES = 4096;

/**
 * SQLite through better-sqlite3: one connection in WAL mode. Its calls are synchronous, so the
 * only thing to guard is a transaction whose callback awaits: while one is open, every other
 * caller waits on `lock` instead of slipping statements into it. Statements wait inline
 * (`while (this.lock) await this.lock`) and run in the continuation that found no lock; a
 * helper that waits and returns would leave a gap in which a transaction can begin.
 *
 * Durability without blocking the event loop: a file database's connection commits with
 * `synchronous = OFF` (COMMIT only writes the WAL) and never checkpoints; the WAL is then
 * fsynced on libuv's thread pool (one fsync at a time, covering every commit before it), and
 * a write resolves only after that. Checkpoints run on a thread of their own
 * (`Checkpointer`), which syncs the WAL before copying it and the database after. So a
 * resolved write survives power loss exactly as with `synchronous = FULL`, while the event
 * loop goes on serving requests during the fsyncs. (A committed write is visible to readers
 * of this process a moment before it is durable; nothing is acknowledged before it is.)
 */
export class SqliteDatabase implements Database {
  readonly dialect = 'sqlite' as const;
  /** SQLite is for a single process, so this connection is the only writer. */
  readonly soleWriter = {};
  private readonly db: BetterSqlite3.Database;
  private readonly statements = new Map<string, Statement>();
  private lastSql: string | undefined;
  private lock: Promise<void> | undefined;
  private readonly group: GroupCommit;
  private readonly direct: Sql;
  /** Set for a file database while the checkpointer thread runs (see the class comment). */
  private checkpointer: Checkpointer | undefined;
  /** FULL: writes resolve after the WAL fsync; NORMAL: after COMMIT. */
  private readonly syncEachCommit: boolean;
  private walFd: number | undefined;
  private syncing: Promise<void> | undefined;
  private syncQueued: Promise<void> | undefined;
  /** A WAL restart under way (see `restartWal`). */
  private restarting: Promise<void> | undefined;

  constructor(
    private readonly path: string,
    options: { synchronous?: 'FULL' | 'NORMAL' } = {},
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new BetterSqlite3(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    const synchronous = options.synchronous ?? 'FULL';
    this.syncEachCommit = synchronous === 'FULL' && path !== ':memory:';
    if (path === ':memory:') this.db.pragma(`synchronous = ${synchronous}`);
    else this.startCheckpointer(synchronous);
    this.direct = {
      dialect: 'sqlite',
      soleWriter: this.soleWriter,
      all: async <T>(sql: string, params: readonly SqlValue[] = []) => this.allNow<T>(sql, params),
      get: async <T>(sql: string, params: readonly SqlValue[] = []) => this.getNow<T>(sql, params),
      run: async (sql: string, params: readonly SqlValue[] = []) => this.runNow(sql, params),
    };
    this.group = new GroupCommit(
      (fn) => this.commit(fn),
      512,
      false,
      this.syncEachCommit ? () => this.durable() : undefined,
    );
  }

  private startCheckpointer(synchronous: 'FULL' | 'NORMAL'): void {
    this.db.pragma('synchronous = OFF');
    this.db.pragma('wal_autocheckpoint = 0');
    this.checkpointer = new Checkpointer(
      this.path,
      (error) => {
        if (!this.db.open) return;
        // Without the thread, back to SQLite's own way: sync and checkpoint in COMMIT.
        process.emitWarning(`SQLite checkpointer stopped (${error.message}); checkpointing inline`);
        this.checkpointer = undefined;
        this.db.pragma(`synchronous = ${synchronous}`);
        this.db.pragma('wal_autocheckpoint = 1000');
      },
      (frames) => {
        // As soon as a pass finds the WAL long, not at the next transaction: the restart then
        // overlaps the group commit's collecting instead of adding to it.
        if (frames >= WAL_RESTART_FRAMES && this.restarting === undefined && this.db.open) {
          this.restarting = this.restartWal().finally(() => {
            this.restarting = undefined;
          });
        }
      },
    );
  }

  /**
   * A RESTART on the checkpointer thread while holding the lock: no statement of this
   * connection may wait inside SQLite (on the event loop) for the write lock it holds.
   */
  private async restartWal(): Promise<void> {
    const release = await this.acquire();
    try {
      await this.checkpointer?.restart();
    } finally {
      release();
    }
  }

  /**
   * Resolves once everything committed so far is on disk: one fdatasync of the WAL on the
   * thread pool at a time (as SQLite itself syncs on Linux); callers arriving while one runs
   * share the next.
   */
  private durable(): Promise<void> {
    if (this.syncing === undefined) {
      const running = this.fsyncWal().finally(() => {
        this.syncing = undefined;
      });
      this.syncing = running;
      return running;
    }
    if (this.syncQueued === undefined) {
      // After the running one, whether it succeeded or not (its own callers see its error).
      this.syncQueued = this.syncing
        .catch(() => {})
        .then(() => {
          this.syncQueued = undefined;
          return this.durable();
        });
    }
    return this.syncQueued;
  }

  private fsyncWal(): Promise<void> {
    if (this.walFd === undefined) {
      try {
        // The connection keeps the WAL file (it is removed only when the last one closes).
        this.walFd = openSync(`${this.path}-wal`, 'r');
      } catch (error) {
        // No WAL yet: nothing has been written to sync.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Promise.resolve();
        return Promise.reject(error);
      }
    }
    const fd = this.walFd;
    return new Promise((resolve, reject) => {
      fdatasync(fd, (error) => (error ? reject(error) : resolve()));
    });
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

  /**
   * Takes the lock: checked and taken in the same continuation, so of several callers waiting
   * for one release exactly one gets it (a separate "wait, then take" would let all of them
   * through). Resolves to its release.
   */
  private async acquire(): Promise<() => void> {
    while (this.lock) await this.lock;
    let release = () => {};
    this.lock = new Promise<void>((resolve) => {
      release = () => {
        this.lock = undefined;
        resolve();
      };
    });
    return release;
  }

  /** A statement outside a transaction that writes is its own commit: it waits for the fsync. */
  private async afterAutocommit(sql: string): Promise<void> {
    // The statement has just run, so it is in the cache (a lookup, without `prepare`'s
    // reorder); were it not, syncing is the safe side.
    if (this.syncEachCommit && this.statements.get(sql)?.readonly !== true) {
      await this.durable();
    }
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    while (this.lock) await this.lock;
    const rows = this.allNow<T>(sql, params);
    await this.afterAutocommit(sql);
    return rows;
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    while (this.lock) await this.lock;
    const row = this.getNow<T>(sql, params);
    await this.afterAutocommit(sql);
    return row;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    while (this.lock) await this.lock;
    const changes = this.runNow(sql, params);
    if (changes > 0) await this.afterAutocommit(sql);
    return changes;
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    const result = await this.commit(fn);
    if (this.syncEachCommit) await this.durable();
    return result;
  }

  /** A transaction up to its COMMIT (durability is the caller's: `transaction`, the group). */
  private async commit<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    const release = await this.acquire();
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
      release();
    }
  }

  batch<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.group.submit(fn);
  }

  async exec(script: string): Promise<void> {
    while (this.lock) await this.lock;
    this.db.exec(script);
    if (this.syncEachCommit) await this.durable();
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    await this.group.drain();
    await this.restarting;
    while (this.lock) await this.lock;
    await this.syncQueued?.catch(() => {});
    await this.syncing?.catch(() => {});
    if (this.checkpointer !== undefined) {
      await this.checkpointer.close();
      this.checkpointer = undefined;
    }
    // The last connection's close checkpoints and removes the WAL: with syncs, this time.
    if (this.path !== ':memory:') this.db.pragma('synchronous = FULL');
    this.db.close();
    if (this.walFd !== undefined) closeSync(this.walFd);
  }
}
