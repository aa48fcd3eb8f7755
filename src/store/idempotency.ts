import type { Sql } from './sql.js';

export interface StoredResponse {
  status: number;
  body: string;
}

/**
 * Claims `key` for a first request. Returns 'claimed' when the caller should process the
 * request, or the stored answer of the first request ('pending' while it is still running).
 */
export async function claimIdempotencyKey(
  sql: Sql,
  key: string,
  now: number,
  ttlMs: number,
): Promise<'claimed' | 'pending' | StoredResponse> {
  const row = await sql.get<{ status: number | null; body: string | null; expires_at: number }>(
    'SELECT status, body, expires_at FROM idempotency_keys WHERE key = ?',
    [key],
  );
  if (row && row.expires_at > now) {
    return row.status === null ? 'pending' : { status: row.status, body: row.body ?? '' };
  }
  if (row)
    await sql.run('DELETE FROM idempotency_keys WHERE key = ? AND expires_at <= ?', [key, now]);
  const inserted = await sql.run(
    'INSERT INTO idempotency_keys (key, status, body, created_at, expires_at) VALUES (?, NULL, NULL, ?, ?) ON CONFLICT (key) DO NOTHING',
    [key, now, now + ttlMs],
  );
  return inserted === 1 ? 'claimed' : 'pending';
}

export async function completeIdempotencyKey(
  sql: Sql,
  key: string,
  response: StoredResponse,
): Promise<void> {
  await sql.run('UPDATE idempotency_keys SET status = ?, body = ? WHERE key = ?', [
    response.status,
    response.body,
    key,
  ]);
}

/** Non-2xx answers are not kept: the client may fix its request and retry with the same key. */
export async function releaseIdempotencyKey(sql: Sql, key: string): Promise<void> {
  await sql.run('DELETE FROM idempotency_keys WHERE key = ? AND status IS NULL', [key]);
}

export async function purgeExpiredIdempotencyKeys(sql: Sql, now: number): Promise<number> {
  return sql.run('DELETE FROM idempotency_keys WHERE expires_at <= ?', [now]);
}
