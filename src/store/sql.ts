/**
 * The one seam between Switchboard and its database. Repositories write portable SQL with
 * `?` placeholders against `Sql`; `sqlite/` and `postgres/` implement it. Values are limited
 * to what both engines store the same way: text, numbers (timestamps are integer
 * milliseconds), null. Booleans are 0/1, JSON is text.
 */
export type SqlValue = string | number | null;
export type Dialect = 'sqlite' | 'postgres';

export interface Sql {
  readonly dialect: Dialect;
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface Database extends Sql {
  /** Runs `fn` in a transaction of its own; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /**
   * Group commit: `fn` joins the writes queued in the same turn of the event loop and all of
   * them are committed by one transaction (one fsync). Each runs in a savepoint of its own, so
   * one that throws is rolled back alone and the others still commit. Resolves after COMMIT.
   */
  batch<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /** Runs a multi-statement script (migrations). */
  exec(script: string): Promise<void>;
  close(): Promise<void>;
}

/** Thrown by drivers for unique-constraint violations, so services can answer 409. */
export class UniqueViolation extends Error {
  override name = 'UniqueViolation';
}

interface Queued {
  fn: (tx: Sql) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Shared group-commit queue, built on a driver's `transaction` and SQL savepoints. */
export class GroupCommit {
  private queue: Queued[] = [];
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly transaction: <T>(fn: (tx: Sql) => Promise<T>) => Promise<T>,
    private readonly maxBatch = 512,
  ) {}

  submit<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.flushing = this.flushing.then(() => this.flush());
        });
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      if (this.queue.length === 0) this.scheduled = false;
      const outcomes: { ok: boolean; value: unknown }[] = [];
      try {
        await this.transaction(async (tx) => {
          for (const item of batch) {
            await tx.run('SAVEPOINT group_item');
            try {
              const value = await item.fn(tx);
              await tx.run('RELEASE SAVEPOINT group_item');
              outcomes.push({ ok: true, value });
            } catch (error) {
              await tx.run('ROLLBACK TO SAVEPOINT group_item');
              await tx.run('RELEASE SAVEPOINT group_item');
              outcomes.push({ ok: false, value: error });
            }
          }
        });
      } catch (error) {
        for (const item of batch) item.reject(error);
        continue;
      }
      batch.forEach((item, index) => {
        const outcome = outcomes[index];
        if (outcome.ok) item.resolve(outcome.value);
        else item.reject(outcome.value);
      });
    }
    this.scheduled = false;
  }

  /** Resolves once everything submitted so far is committed (used at shutdown). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.scheduled) {
      await new Promise((resolve) => setImmediate(resolve));
      await this.flushing;
    }
    await this.flushing;
  }
}
