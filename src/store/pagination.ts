import type { SqlValue } from './sql.js';

/**
 * Iterator pagination as Svix does it: `iterator` is the key of the last item of the previous
 * page; a leading `-` (the `prevIterator` of a page) travels back. Fetch `limit + 1` rows to
 * know whether the direction travelled is `done`.
 */
export interface PageRequest {
  limit: number;
  iterator?: string | null;
  /** The listing's natural order by its key column. */
  order: 'asc' | 'desc';
}

export interface Page<T> {
  data: T[];
  iterator: string | null;
  prevIterator: string | null;
  done: boolean;
}

export interface PagePlan {
  /** A condition on the key column (or `1=1`), to AND into the query. */
  where: string;
  params: SqlValue[];
  orderBy: string;
  limit: number;
  backwards: boolean;
}

export function planPage(column: string, request: PageRequest): PagePlan {
  const raw = request.iterator ?? '';
  const backwards = raw.startsWith('-');
  const key = backwards ? raw.slice(1) : raw;
  // Travelling back over an ascending list means walking it descending, and vice versa.
  const ascending = (request.order === 'asc') !== backwards;
  return {
    where: key === '' ? '1=1' : `${column} ${ascending ? '>' : '<'} ?`,
    params: key === '' ? [] : [key],
    orderBy: `${column} ${ascending ? 'ASC' : 'DESC'}`,
    limit: request.limit + 1,
    backwards,
  };
}

export function toPage<R, T>(
  rows: R[],
  plan: PagePlan,
  keyOf: (row: R) => string,
  map: (row: R) => T,
): Page<T> {
  const limit = plan.limit - 1;
  const done = rows.length <= limit;
  const kept = rows.slice(0, limit);
  if (plan.backwards) kept.reverse();
  const first = kept[0];
  const last = kept[kept.length - 1];
  return {
    data: kept.map(map),
    iterator: last ? keyOf(last) : null,
    prevIterator: first ? `-${keyOf(first)}` : null,
    done,
  };
}
