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
  /**
   * Set when this process is the database's only writer (SQLite: one process): an object that
   * stands for the database, the same on every transaction of it, to which a repository may
   * attach what it remembers of its own writes (e.g. `RecentKeys`). Undefined on PostgreSQL,
   * where other processes write too.
   */
  readonly soleWriter?: object;
}

export interface Database extends Sql {
  /** Runs `fn` in a transaction of its own; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /**
   * Group commit: `fn` joins the writes queued in the same turn of the event loop (under
   * load, the same few milliseconds) and all of them are committed by one transaction (one
   * fsync). One that throws is rolled back alone and the others still commit: the group is
   * then run again with each item in a savepoint of its own; a group the database aborts to
   * break a deadlock is run again too (`TransientConflict`). So `fn` may run more than once and
   * must have no effect outside `tx` that another run would repeat. Resolves once the writes
   * are durable.
   */
  batch<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /** Runs a multi-statement script (migrations). */
  exec(script: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Splits `values` into IN lists of at most 128, each padded to a power of two by repeating its
 * last value (harmless in `IN (…)`), so that a handful of statement texts cover every size and
 * each is prepared once. `placeholders` is the matching `?, ?, …`.
 */
export function paddedInLists(
  values: readonly SqlValue[],
): { values: SqlValue[]; placeholders: string }[] {
  const lists: { values: SqlValue[]; placeholders: string }[] = [];
  for (let start = 0; start < values.length; start += IN_LIST_MAX) {
    const list = values.slice(start, start + IN_LIST_MAX);
    let size = 1;
    while (size < list.length) size *= 2;
    const last = list[list.length - 1];
    while (list.length < size) list.push(last);
    lists.push({ values: list, placeholders: list.map(() => '?').join(', ') });
  }
  return lists;
}
const IN_LIST_MAX = 128;

/**
 * Inserts `rows` with multi-row INSERTs split into power-of-two chunks (at most 64 rows), so
 * that a handful of statement texts cover every count and each is prepared once.
 */
export async function insertRows<T>(
  sql: Sql,
  table: string,
  names: readonly string[],
  rows: readonly T[],
  paramsOf: (row: T) => SqlValue[],
): Promise<void> {
  // One row (a message or attempt written alone, the common case): no chunking, no copying.
  if (rows.length === 1) {
    await sql.run(insertText(table, names, 1), paramsOf(rows[0]));
    return;
  }
  let start = 0;
  while (start < rows.length) {
    let size = 64;
    while (size > rows.length - start) size /= 2;
    const params: SqlValue[] = [];
    for (let index = start; index < start + size; index++) params.push(...paramsOf(rows[index]));
    await sql.run(insertText(table, names, size), params);
    start += size;
  }
}

/** INSERT texts by table (each always written with the same columns), then by row count. */
const insertTexts = new Map<string, string[]>();
function insertText(table: string, names: readonly string[], count: number): string {
  let texts = insertTexts.get(table);
  if (texts === undefined) {
    texts = [];
    insertTexts.set(table, texts);
  }
  let text = texts[count];
  if (text === undefined) {
    const row = `(${names.map(() => '?').join(', ')})`;
    text = `INSERT INTO ${table} (${names.join(', ')}) VALUES ${Array.from({ length: count }, () => row).join(', ')}`;
    texts[count] = text;
  }
  return text;
}

/** Thrown by drivers for unique-constraint violations, so services can answer 409. */
export class UniqueViolation extends Error {
  override name = 'UniqueViolation';
}

/**
 * The database aborted the transaction to break a deadlock or a serialization conflict
 * (PostgreSQL 40P01, 40001): every lock it held is released, and the same work run again can
 * succeed.
 */
export class TransientConflict extends Error {
  override name = 'TransientConflict';
}

/**
 * A group aborted by `TransientConflict` is run again this many times, after a short random
 * pause (the other transaction of the deadlock finishes meanwhile).
 */
const CONFLICT_RETRIES = 5;
const CONFLICT_PAUSE_MS = 5;

/**
 * When the last group commit was big (`GROUP_BUSY_ITEMS` or more) and ended less than
 * `GROUP_WINDOW_MS` ago, the next one keeps collecting while work keeps arriving, up to
 * `GROUP_WINDOW_MS`, instead of one turn of the event loop: under load, fewer and bigger
 * transactions (each is a COMMIT and one fsync before its items are answered). Idle or
 * lightly loaded, nothing waits.
 */
const GROUP_WINDOW_MS = 4;
const GROUP_BUSY_ITEMS = 8;

interface Queued {
  fn: (tx: Sql) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Shared group-commit queue, built on a driver's `transaction` and SQL savepoints. */
export class GroupCommit {
  private queue: Queued[] = [];
  private scheduled = false;
  /** Transactions under way (at most `parallel`). */
  private active = 0;
  /** Items in the last transaction, and when it ended (performance.now()). */
  private lastSize = 0;
  private lastEnd = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly transaction: <T>(fn: (tx: Sql) => Promise<T>) => Promise<T>,
    private readonly maxBatch = 512,
    /**
     * The driver runs several `;`-separated statements given to `run` without parameters in
     * one round trip (PostgreSQL's simple query protocol): then the savepoint between two
     * items is one round trip instead of two.
     */
    private readonly multiStatement = false,
    /**
     * When the driver's COMMIT does not itself make the writes durable: resolves once they
     * are. Items are answered after it, while the next transaction already runs.
     */
    private readonly durable?: () => Promise<void>,
    /**
     * Group transactions that may run at once. SQLite has one writer: 1. On PostgreSQL each
     * statement is a round trip, so one transaction at a time leaves the server idle between
     * them; several, on connections of the pool, overlap those waits.
     */
    private readonly parallel = 1,
  ) {}

  private async control(tx: Sql, statements: string[]): Promise<void> {
    if (this.multiStatement) await tx.run(statements.join('; '));
    else for (const statement of statements) await tx.run(statement);
  }

  submit<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        const start = () => {
          this.scheduled = false;
          this.launch();
        };
        // Busy (the last commit was a big one, moments ago): keep collecting, one turn of the
        // event loop at a time, for as long as each turn brings more work and at most
        // GROUP_WINDOW_MS, so that fewer, bigger transactions pay the COMMIT (fsync). The
        // process never sits idle waiting for a batch to fill: a turn that brings nothing new
        // flushes. Idle: the next turn.
        if (
          this.lastSize >= GROUP_BUSY_ITEMS &&
          performance.now() - this.lastEnd < GROUP_WINDOW_MS
        ) {
          const deadline = performance.now() + GROUP_WINDOW_MS;
          let seen = this.queue.length;
          const collect = () => {
            if (this.queue.length > seen && performance.now() < deadline) {
              seen = this.queue.length;
              setImmediate(collect);
            } else start();
          };
          setImmediate(collect);
        } else setImmediate(start);
      }
    });
  }

  /** One more transaction loop, unless `parallel` run already (one of them takes the items). */
  private launch(): void {
    if (this.queue.length === 0 || this.active >= this.parallel) return;
    this.active++;
    this.flush().finally(() => {
      this.active--;
      this.launch();
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      let outcomes: { ok: boolean; value: unknown }[];
      try {
        // Optimistically, all items in one plain transaction: a savepoint pair per item costs
        // two statements, and items almost never throw.
        outcomes = await this.retryingConflicts(async (tx) => {
          const values: { ok: boolean; value: unknown }[] = [];
          for (const item of batch) values.push({ ok: true, value: await item.fn(tx) });
          return values;
        });
      } catch (error) {
        if (batch.length === 1) {
          // A lone item's own error (its transaction rolled back), or COMMIT failed.
          batch[0].reject(error);
          this.noteEnd(1);
          continue;
        }
        // One item threw, so the whole transaction rolled back: run the group again with
        // each item in a savepoint of its own, so only the one that throws is lost.
        try {
          outcomes = await this.retryingConflicts(async (tx) => {
            const values: { ok: boolean; value: unknown }[] = [];
            for (let index = 0; index < batch.length; index++) {
              await this.control(
                tx,
                index === 0
                  ? ['SAVEPOINT group_item']
                  : ['RELEASE SAVEPOINT group_item', 'SAVEPOINT group_item'],
              );
              try {
                values.push({ ok: true, value: await batch[index].fn(tx) });
              } catch (itemError) {
                // Not this item's fault: the locks of the items before it are part of the
                // deadlock, so only running the whole group again resolves it.
                if (itemError instanceof TransientConflict) throw itemError;
                await tx.run('ROLLBACK TO SAVEPOINT group_item');
                values.push({ ok: false, value: itemError });
              }
            }
            return values;
          });
        } catch (commitError) {
          // COMMIT failed for all.
          for (const item of batch) item.reject(commitError);
          this.noteEnd(batch.length);
          continue;
        }
      }
      this.noteEnd(batch.length);
      const settle = () =>
        batch.forEach((item, index) => {
          const outcome = outcomes[index];
          if (outcome.ok) item.resolve(outcome.value);
          else item.reject(outcome.value);
        });
      if (this.durable === undefined) settle();
      else {
        this.durable().then(settle, (error: unknown) => {
          // Not known to be on disk: nobody may be told it is.
          for (const item of batch) item.reject(error);
        });
      }
    }
  }

  /** `transaction(fn)`, run again when the database aborted it with a `TransientConflict`. */
  private async retryingConflicts<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transaction(fn);
      } catch (error) {
        if (!(error instanceof TransientConflict) || attempt > CONFLICT_RETRIES) throw error;
        await new Promise((resolve) =>
          setTimeout(resolve, Math.random() * CONFLICT_PAUSE_MS * attempt),
        );
      }
    }
  }

  private noteEnd(size: number): void {
    this.lastSize = size;
    this.lastEnd = performance.now();
  }

  /** Resolves once everything submitted so far is committed (used at shutdown). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.scheduled || this.active > 0) {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
