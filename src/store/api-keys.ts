import type { ApiKeyId, AppId } from '../core/ids.js';
import { fromJson, toJson } from './json.js';
import type { Sql } from './sql.js';

export interface ApiKeyRecord {
  id: ApiKeyId;
  name: string;
  /** The first characters of the token, safe to show. */
  prefix: string;
  /** SHA-256 of the token, hex; the token itself is never stored. */
  hash: string;
  appId: AppId | null;
  scopes: string[] | null;
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number | null;
  revokedAt: number | null;
}

interface Row {
  id: string;
  name: string;
  prefix: string;
  hash: string;
  app_id: string | null;
  scopes: string | null;
  created_at: number;
  last_used_at: number | null;
  expires_at: number | null;
  revoked_at: number | null;
}

const COLUMNS =
  'id, name, prefix, hash, app_id, scopes, created_at, last_used_at, expires_at, revoked_at';

function fromRow(row: Row): ApiKeyRecord {
  return {
    id: row.id as ApiKeyId,
    name: row.name,
    prefix: row.prefix,
    hash: row.hash,
    appId: row.app_id as AppId | null,
    scopes: fromJson<string[]>(row.scopes),
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

export async function insertApiKey(sql: Sql, key: ApiKeyRecord): Promise<void> {
  await sql.run(`INSERT INTO api_keys (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    key.id,
    key.name,
    key.prefix,
    key.hash,
    key.appId,
    toJson(key.scopes),
    key.createdAt,
    key.lastUsedAt,
    key.expiresAt,
    key.revokedAt,
  ]);
}

export async function findApiKeyByHash(sql: Sql, hash: string): Promise<ApiKeyRecord | undefined> {
  const row = await sql.get<Row>(`SELECT ${COLUMNS} FROM api_keys WHERE hash = ?`, [hash]);
  return row && fromRow(row);
}

export async function countOrgApiKeys(sql: Sql): Promise<number> {
  const row = await sql.get<{ n: number }>(
    'SELECT COUNT(*) AS n FROM api_keys WHERE app_id IS NULL AND revoked_at IS NULL',
  );
  return Number(row?.n ?? 0);
}

export async function touchApiKey(sql: Sql, id: ApiKeyId, now: number): Promise<void> {
  await sql.run('UPDATE api_keys SET last_used_at = ? WHERE id = ?', [now, id]);
}
