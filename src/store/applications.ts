import type { AppId } from '../core/ids.js';
import { invalidateDeliveryTarget } from './endpoint-health.js';
import { fromJson, toJson } from './json.js';
import { type Page, type PageRequest, planPage, toPage } from './pagination.js';
import { remembered, routingChanged } from './routing-cache.js';
import type { Database, Sql } from './sql.js';

export interface ApplicationRecord {
  id: AppId;
  uid: string | null;
  name: string;
  throttleRate: number | null;
  metadata: Record<string, string>;
  createdAt: number;
  updatedAt: number;
}

interface Row {
  id: string;
  uid: string | null;
  name: string;
  throttle_rate: number | null;
  metadata: string;
  created_at: number;
  updated_at: number;
}

function fromRow(row: Row): ApplicationRecord {
  return {
    id: row.id as AppId,
    uid: row.uid,
    name: row.name,
    throttleRate: row.throttle_rate,
    metadata: fromJson<Record<string, string>>(row.metadata) ?? {},
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const COLUMNS = 'id, uid, name, throttle_rate, metadata, created_at, updated_at';

/** By id or uid (Svix's `{app_id}` accepts either); deleted applications are not found. */
export async function findApplication(
  sql: Sql,
  idOrUid: string,
): Promise<ApplicationRecord | undefined> {
  const row = await sql.get<Row>(
    `SELECT ${COLUMNS} FROM applications WHERE (id = ? OR uid = ?) AND deleted_at IS NULL AND internal = 0`,
    [idOrUid, idOrUid],
  );
  return row && fromRow(row);
}

/**
 * `findApplication` for the hot path of message creation: remembered on SQLite (see
 * routing-cache.ts). The record is shared: read it, do not change it.
 */
export function findApplicationCached(
  db: Database,
  idOrUid: string,
): Promise<ApplicationRecord | undefined> {
  return remembered(db, `app:${idOrUid}`, () => findApplication(db, idOrUid));
}

export async function insertApplication(sql: Sql, app: ApplicationRecord): Promise<void> {
  await sql.run(`INSERT INTO applications (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`, [
    app.id,
    app.uid,
    app.name,
    app.throttleRate,
    toJson(app.metadata),
    app.createdAt,
    app.updatedAt,
  ]);
  routingChanged(sql);
}

/**
 * The hidden application of `key` (e.g. the one that carries operational webhooks), created on
 * first use. Its uid is the key; public lookups never see internal applications.
 */
export async function ensureInternalApplication(
  sql: Sql,
  key: string,
  make: () => ApplicationRecord,
): Promise<AppId> {
  const existing = await sql.get<{ id: string }>(
    'SELECT id FROM applications WHERE uid = ? AND internal = 1',
    [key],
  );
  if (existing) return existing.id as AppId;
  const app = { ...make(), uid: key };
  await sql.run(
    `INSERT INTO applications (${COLUMNS}, internal) VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (uid) DO NOTHING`,
    [
      app.id,
      app.uid,
      app.name,
      app.throttleRate,
      toJson(app.metadata),
      app.createdAt,
      app.updatedAt,
    ],
  );
  routingChanged(sql);
  const row = await sql.get<{ id: string }>(
    'SELECT id FROM applications WHERE uid = ? AND internal = 1',
    [key],
  );
  if (!row) throw new Error(`the uid ${key} is taken by a public application`);
  return row.id as AppId;
}

/** Soft-deletes the hidden application of `key`, if it exists. */
export async function deleteInternalApplication(sql: Sql, key: string, now: number): Promise<void> {
  await sql.run(
    'UPDATE applications SET deleted_at = ?, uid = NULL, updated_at = ? WHERE uid = ? AND internal = 1',
    [now, now, key],
  );
  routingChanged(sql);
  invalidateDeliveryTarget();
}

export async function updateApplication(sql: Sql, app: ApplicationRecord): Promise<void> {
  await sql.run(
    'UPDATE applications SET uid = ?, name = ?, throttle_rate = ?, metadata = ?, updated_at = ? WHERE id = ?',
    [app.uid, app.name, app.throttleRate, toJson(app.metadata), app.updatedAt, app.id],
  );
  routingChanged(sql);
  invalidateDeliveryTarget(); // its throttleRate is part of every endpoint's delivery target
}

/** Soft delete: the row stays for the attempt history; its uid is freed for reuse. */
export async function deleteApplication(sql: Sql, id: AppId, now: number): Promise<void> {
  await sql.run('UPDATE applications SET deleted_at = ?, uid = NULL, updated_at = ? WHERE id = ?', [
    now,
    now,
    id,
  ]);
  routingChanged(sql);
  invalidateDeliveryTarget();
}

export async function listApplications(
  sql: Sql,
  request: PageRequest,
): Promise<Page<ApplicationRecord>> {
  const plan = planPage('id', request);
  const rows = await sql.all<Row>(
    `SELECT ${COLUMNS} FROM applications WHERE deleted_at IS NULL AND internal = 0 AND ${plan.where} ORDER BY ${plan.orderBy} LIMIT ?`,
    [...plan.params, plan.limit],
  );
  return toPage(rows, plan, (row) => row.id, fromRow);
}
