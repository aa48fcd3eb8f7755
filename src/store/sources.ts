import type { Id } from '../core/ids.js';
import { fromJson, toJson } from './json.js';
import { type Page, type PageRequest, planPage, toPage } from './pagination.js';
import type { Sql } from './sql.js';

export type SourceId = Id<'source'>;

/**
 * An inbound source. `config` and `token` are sealed (SecretBox) as they sit in the row; the
 * service opens them. `tokenHash` is the SHA-256 (hex) of the ingest token.
 */
export interface SourceRecord {
  id: SourceId;
  uid: string | null;
  name: string;
  type: string;
  sealedConfig: string;
  sealedToken: string;
  tokenHash: string;
  previousTokenHash: string | null;
  previousTokenExpiresAt: number | null;
  metadata: Record<string, string>;
  /**
   * The source's mapping as stored (JSON; the inbound service validates it before writing).
   * Read by every query; `insertSource` / `updateSource` never write it (see `setSourceMapping`).
   */
  mapping?: Record<string, unknown> | null;
  createdAt: number;
  updatedAt: number;
}

interface Row {
  id: string;
  uid: string | null;
  name: string;
  type: string;
  config: string;
  token: string;
  token_hash: string;
  previous_token_hash: string | null;
  previous_token_expires_at: number | null;
  metadata: string;
  mapping: string | null;
  created_at: number;
  updated_at: number;
}

function fromRow(row: Row): SourceRecord {
  return {
    id: row.id as SourceId,
    uid: row.uid,
    name: row.name,
    type: row.type,
    sealedConfig: row.config,
    sealedToken: row.token,
    tokenHash: row.token_hash,
    previousTokenHash: row.previous_token_hash,
    previousTokenExpiresAt:
      row.previous_token_expires_at === null ? null : Number(row.previous_token_expires_at),
    metadata: fromJson<Record<string, string>>(row.metadata) ?? {},
    mapping: fromJson<Record<string, unknown>>(row.mapping ?? null),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

const COLUMNS =
  'id, uid, name, type, config, token, token_hash, previous_token_hash, previous_token_expires_at, metadata, created_at, updated_at';
/** What every read selects: the written columns and the mapping. */
const SELECT_COLUMNS = `${COLUMNS}, mapping`;

/** By id or uid (`{source_id}` accepts either); deleted sources are not found. */
export async function findSource(sql: Sql, idOrUid: string): Promise<SourceRecord | undefined> {
  const row = await sql.get<Row>(
    `SELECT ${SELECT_COLUMNS} FROM sources WHERE (id = ? OR uid = ?) AND deleted_at IS NULL`,
    [idOrUid, idOrUid],
  );
  return row && fromRow(row);
}

/**
 * The live source whose current token, or previous token still within its grace period, hashes
 * to `tokenHash`. Both columns are unique-indexed: one indexed lookup per received webhook.
 */
export async function findSourceByTokenHash(
  sql: Sql,
  tokenHash: string,
  now: number,
): Promise<SourceRecord | undefined> {
  const row = await sql.get<Row>(
    `SELECT ${SELECT_COLUMNS} FROM sources WHERE (token_hash = ? OR (previous_token_hash = ? AND previous_token_expires_at > ?)) AND deleted_at IS NULL`,
    [tokenHash, tokenHash, now],
  );
  return row && fromRow(row);
}

export async function insertSource(sql: Sql, source: SourceRecord): Promise<void> {
  await sql.run(`INSERT INTO sources (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    source.id,
    source.uid,
    source.name,
    source.type,
    source.sealedConfig,
    source.sealedToken,
    source.tokenHash,
    source.previousTokenHash,
    source.previousTokenExpiresAt,
    toJson(source.metadata),
    source.createdAt,
    source.updatedAt,
  ]);
}

/** Replaces everything but the id, the tokens and the creation time. */
export async function updateSource(sql: Sql, source: SourceRecord): Promise<void> {
  await sql.run(
    'UPDATE sources SET uid = ?, name = ?, type = ?, config = ?, metadata = ?, updated_at = ? WHERE id = ?',
    [
      source.uid,
      source.name,
      source.type,
      source.sealedConfig,
      toJson(source.metadata),
      source.updatedAt,
      source.id,
    ],
  );
}

export async function updateSourceToken(
  sql: Sql,
  id: SourceId,
  token: {
    sealedToken: string;
    tokenHash: string;
    previousTokenHash: string | null;
    previousTokenExpiresAt: number | null;
  },
  now: number,
): Promise<void> {
  await sql.run(
    'UPDATE sources SET token = ?, token_hash = ?, previous_token_hash = ?, previous_token_expires_at = ?, updated_at = ? WHERE id = ?',
    [
      token.sealedToken,
      token.tokenHash,
      token.previousTokenHash,
      token.previousTokenExpiresAt,
      now,
      id,
    ],
  );
}

/**
 * Soft delete: the row stays for its event log; the uid is freed for reuse and the previous
 * token stops working at once (the live-token lookup ignores deleted rows anyway).
 */
export async function deleteSource(sql: Sql, id: SourceId, now: number): Promise<void> {
  await sql.run(
    // The token hash is released too (replaced by a value no SHA-256 lookup can match), so a
    // declared source with a fixed token can be created again after an API delete.
    "UPDATE sources SET deleted_at = ?, uid = NULL, token_hash = 'deleted:' || id, previous_token_hash = NULL, previous_token_expires_at = NULL, updated_at = ? WHERE id = ?",
    [now, now, id],
  );
}

/** Stores a source's mapping (already validated), or removes it with null. */
export async function updateSourceMapping(
  sql: Sql,
  id: SourceId,
  mapping: Record<string, unknown> | null,
  now: number,
): Promise<void> {
  await sql.run('UPDATE sources SET mapping = ?, updated_at = ? WHERE id = ?', [
    toJson(mapping),
    now,
    id,
  ]);
}

export async function listSources(sql: Sql, request: PageRequest): Promise<Page<SourceRecord>> {
  const plan = planPage('id', request);
  const rows = await sql.all<Row>(
    `SELECT ${SELECT_COLUMNS} FROM sources WHERE deleted_at IS NULL AND ${plan.where} ORDER BY ${plan.orderBy} LIMIT ?`,
    [...plan.params, plan.limit],
  );
  return toPage(rows, plan, (row) => row.id, fromRow);
}
