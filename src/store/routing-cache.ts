import type { Database, Sql } from './sql.js';

/**
 * What creating a message reads every time — its application, by id or uid, and the routing
 * filters of that application's enabled endpoints — remembered per database while this process
 * is the database's only writer (SQLite). It is exact, not eventually consistent:
 *
 * - every write to `applications` and `endpoints` goes through the store
 *   (applications.ts, endpoints.ts, and endpoint-health.ts where it disables an endpoint), and
 *   each calls `routingChanged` as it writes, which forgets everything remembered;
 * - only reads made outside a transaction are remembered (`Database`, not a transaction's
 *   `Sql`): on SQLite they wait for any open transaction to end, so they never see what a
 *   transaction that may still roll back has written;
 * - a read is remembered only if nothing was written between its start and its end (the
 *   generation did not move), so a write racing a read cannot leave the older answer behind.
 *
 * On PostgreSQL other processes write too, so nothing is remembered there.
 */
interface Memory {
  /** Bumped by every `routingChanged`. */
  generation: number;
  entries: Map<string, unknown>;
}

/** By the database's `soleWriter` object: each open database (tests run several) has its own. */
const memories = new WeakMap<object, Memory>();
const ENTRIES_MAX = 10_000;

function memoryOf(owner: object): Memory {
  let memory = memories.get(owner);
  if (memory === undefined) {
    memory = { generation: 0, entries: new Map() };
    memories.set(owner, memory);
  }
  return memory;
}

/**
 * `load()`, remembered under `key` on a sole-writer database. Misses (undefined) are not
 * remembered: what does not exist yet is looked up again.
 */
export async function remembered<T>(
  db: Database,
  key: string,
  load: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const owner = db.soleWriter;
  if (owner === undefined) return load();
  const memory = memoryOf(owner);
  // Only defined values are remembered, so undefined here is a miss.
  const known = memory.entries.get(key);
  if (known !== undefined) return known as T;
  const generation = memory.generation;
  const value = await load();
  if (value !== undefined && memory.generation === generation) {
    if (memory.entries.size >= ENTRIES_MAX) memory.entries.clear();
    memory.entries.set(key, value);
  }
  return value;
}

/** An application or an endpoint was written through `sql`: forget what was remembered. */
export function routingChanged(sql: Sql): void {
  const owner = sql.soleWriter;
  if (owner === undefined) return;
  const memory = memoryOf(owner);
  memory.generation++;
  memory.entries.clear();
}
