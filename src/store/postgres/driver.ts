import pg from 'pg';
import {
  type Database,
  GroupCommit,
  type Sql,
  type SqlValue,
  TransientConflict,
  UniqueViolation,
} from '../sql.js';

/**
 * A statement as sent to PostgreSQL: `?` placeholders (our portable form) turned into `$1, $2,
 * …`, and a name, so that each connection parses it once (a prepared statement) instead of
 * at every execution. Memoised per statement text. Every text is a constant of the
 * code or built from a bounded set of shapes (IN lists padded to powers of two, multi-row
 * inserts by row count), but past `PREPARED_MAX` distinct texts the rest run unnamed and are
 * not memoised, so that nothing unforeseen grows every connection's set of prepared statements,
 * or this map, without bound.
 */
interface Statement {
  text: string;
  name: string | undefined;
}
const PREPARED_MAX = 2_000;
const statements = new Map<string, Statement>();
function statement(sql: string): Statement {
  const known = statements.get(sql);
  if (known !== undefined) return known;
  let index = 0;
  const text = sql.replace(/\?/g, () => `$${++index}`);
  if (statements.size >= PREPARED_MAX) return { text, name: undefined };
  const out = { text, name: `sb${statements.size}` };
  statements.set(sql, out);
  return out;
}

/**
 * Statements without parameters go as they are, by the simple protocol, unprepared: they are the
 * transaction control of the group commit (`SAVEPOINT …; …` holds several commands, which a
 * prepared statement cannot) and one-off administration.
 */
function query(sql: string, params: readonly SqlValue[]): pg.QueryConfig {
  if (params.length === 0) return { text: sql };
  const { text, name } = statement(sql);
  return name === undefined ? { text, values: [...params] } : { text, name, values: [...params] };
}

// BIGINT columns hold millisecond timestamps and counters, all within 2^53.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

function rethrow(error: unknown): never {
  if (error instanceof Error) {
    const code = (error as Error & { code?: string }).code;
    if (code === '23505') throw new UniqueViolation(error.message);
    if (code === '40P01' || code === '40001') throw new TransientConflict(error.message);
  }
  throw error;
}

function executor(client: pg.Pool | pg.PoolClient): Sql {
  return {
    dialect: 'postgres',
    async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
      try {
        return (await client.query(query(sql, params))).rows as T[];
      } catch (error) {
        rethrow(error);
      }
    },
    async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
      try {
        return (await client.query(query(sql, params))).rows[0] as T | undefined;
      } catch (error) {
        rethrow(error);
      }
    },
    async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
      try {
        return (await client.query(query(sql, params))).rowCount ?? 0;
      } catch (error) {
        rethrow(error);
      }
    },
  };
}

/** Group-commit transactions in flight at once (see `GroupCommit`'s `parallel`). */
const GROUP_TRANSACTIONS = 4;

export class PostgresDatabase implements Database {
  readonly dialect = 'postgres' as const;
  readonly pool: pg.Pool;
  private readonly direct: Sql;
  private readonly group: GroupCommit;

  constructor(
    connectionString: string,
    options: {
      max?: number;
      /**
       * Group transactions in flight at once (default 4). A delivery-only worker process uses
       * one: its transactions (claims, outcomes) touch the same rows and indexes, and measured
       * ~10 % slower with four.
       */
      groupTransactions?: number;
    } = {},
  ) {
    this.pool = new pg.Pool({ connectionString, max: options.max ?? 10, types });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    this.pool.on('error', () => {});
    // Prepared statements save the parse; each execution is still planned with its own values.
    // PostgreSQL's default switches a statement to a generic plan after five runs, and the
    // inbound benchmark fell to a third with it (docs/benchmarks.md, eighth round). A SET
    // rather than a startup option, which connection poolers such as PgBouncer refuse. The
    // client runs its queries in order, so this one precedes the first caller's.
    this.pool.on('connect', (client) => {
      client.query('SET plan_cache_mode = force_custom_plan').catch(() => {});
    });
    this.direct = executor(this.pool);
    // Several group transactions at once, each on a connection of the pool, leaving the rest
    // for reads and `transaction` callers.
    this.group = new GroupCommit(
      (fn) => this.transaction(fn),
      512,
      true,
      undefined,
      Math.max(
        1,
        Math.min(options.groupTransactions ?? GROUP_TRANSACTIONS, (options.max ?? 10) - 2),
      ),
    );
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.direct.all<T>(sql, params);
  }

  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.direct.get<T>(sql, params);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.direct.run(sql, params);
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(executor(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  batch<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.group.submit(fn);
  }

  async exec(script: string): Promise<void> {
    await this.pool.query(script);
  }

  async close(): Promise<void> {
    await this.group.drain();
    await this.pool.end();
  }
}
