import type { AppId, EndpointId } from '../core/ids.js';
import { type EndpointDeliveryOptions, invalidateDeliveryTarget } from './endpoint-health.js';
import { fromJson, toJson } from './json.js';
import { type Page, type PageRequest, planPage, toPage } from './pagination.js';
import { routingChanged } from './routing-cache.js';
import type { Sql } from './sql.js';

/**
 * An endpoint as the API shows it. Its signing secret and custom headers are kept apart
 * (sealed, see `findEndpointSealed`) so a record can be passed around without leaking them.
 */
export interface EndpointRecord {
  id: EndpointId;
  appId: AppId;
  uid: string | null;
  url: string;
  description: string;
  version: number;
  throttleRate: number | null;
  disabled: boolean;
  /** null = every event type. */
  eventTypes: string[] | null;
  /** null = every message, whatever its channels. */
  channels: string[] | null;
  metadata: Record<string, string>;
  /**
   * Switchboard's delivery options (the `options` column). Always set on records read by this
   * module; a record built elsewhere may leave it out, and then writes keep what is stored.
   */
  options?: EndpointDeliveryOptions;
  createdAt: number;
  updatedAt: number;
}

/** The sealed (SecretBox) columns: the current signing secret and the custom headers. */
export interface EndpointSealed {
  secret: string;
  headers: string;
}

interface Row {
  id: string;
  app_id: string;
  uid: string | null;
  url: string;
  description: string;
  version: number;
  throttle_rate: number | null;
  disabled: number;
  event_types: string | null;
  channels: string | null;
  metadata: string;
  options: string | null;
  created_at: number;
  updated_at: number;
}

function fromRow(row: Row): EndpointRecord {
  return {
    id: row.id as EndpointId,
    appId: row.app_id as AppId,
    uid: row.uid,
    url: row.url,
    description: row.description,
    version: Number(row.version),
    throttleRate: row.throttle_rate === null ? null : Number(row.throttle_rate),
    disabled: Number(row.disabled) !== 0,
    eventTypes: fromJson<string[]>(row.event_types),
    channels: fromJson<string[]>(row.channels),
    metadata: fromJson<Record<string, string>>(row.metadata) ?? {},
    options: fromJson<EndpointDeliveryOptions>(row.options) ?? {},
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

const COLUMNS =
  'id, app_id, uid, url, description, version, throttle_rate, disabled, event_types, channels, metadata, options, created_at, updated_at';

/** A live endpoint of an application, by id or uid (Svix's `{endpoint_id}` accepts either). */
export async function findEndpoint(
  sql: Sql,
  appId: AppId,
  idOrUid: string,
): Promise<EndpointRecord | undefined> {
  const row = await sql.get<Row>(
    `SELECT ${COLUMNS} FROM endpoints WHERE app_id = ? AND (id = ? OR uid = ?) AND deleted_at IS NULL`,
    [appId, idOrUid, idOrUid],
  );
  return row && fromRow(row);
}

/** By id alone, deleted or not (the delivery engine holds ids of endpoints deleted since). */
export async function getEndpointById(
  sql: Sql,
  id: EndpointId,
): Promise<(EndpointRecord & { deletedAt: number | null }) | undefined> {
  const row = await sql.get<Row & { deleted_at: number | null }>(
    `SELECT ${COLUMNS}, deleted_at FROM endpoints WHERE id = ?`,
    [id],
  );
  return (
    row && { ...fromRow(row), deletedAt: row.deleted_at === null ? null : Number(row.deleted_at) }
  );
}

export async function findEndpointSealed(
  sql: Sql,
  id: EndpointId,
): Promise<EndpointSealed | undefined> {
  return sql.get<EndpointSealed>('SELECT secret, headers FROM endpoints WHERE id = ?', [id]);
}

export async function insertEndpoint(
  sql: Sql,
  endpoint: EndpointRecord,
  sealed: EndpointSealed,
): Promise<void> {
  await sql.run(
    `INSERT INTO endpoints (${COLUMNS}, headers, secret) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      endpoint.id,
      endpoint.appId,
      endpoint.uid,
      endpoint.url,
      endpoint.description,
      endpoint.version,
      endpoint.throttleRate,
      endpoint.disabled ? 1 : 0,
      toJson(endpoint.eventTypes),
      toJson(endpoint.channels),
      toJson(endpoint.metadata),
      toJson(endpoint.options ?? {}),
      endpoint.createdAt,
      endpoint.updatedAt,
      sealed.headers,
      sealed.secret,
    ],
  );
  routingChanged(sql);
}

/**
 * Writes the API-visible fields (the delivery options too, when the record carries them).
 * `resetFailures` clears the failure streak the delivery engine keeps, for an endpoint that is
 * being re-enabled.
 */
export async function updateEndpoint(
  sql: Sql,
  endpoint: EndpointRecord,
  options: { resetFailures?: boolean } = {},
): Promise<void> {
  const reset = options.resetFailures ? ', consecutive_failures = 0, failing_since = NULL' : '';
  const deliveryOptions = endpoint.options === undefined ? '' : ', options = ?';
  await sql.run(
    `UPDATE endpoints SET uid = ?, url = ?, description = ?, version = ?, throttle_rate = ?, disabled = ?, event_types = ?, channels = ?, metadata = ?, updated_at = ?${reset}${deliveryOptions} WHERE id = ?`,
    [
      endpoint.uid,
      endpoint.url,
      endpoint.description,
      endpoint.version,
      endpoint.throttleRate,
      endpoint.disabled ? 1 : 0,
      toJson(endpoint.eventTypes),
      toJson(endpoint.channels),
      toJson(endpoint.metadata),
      endpoint.updatedAt,
      ...(endpoint.options === undefined ? [] : [toJson(endpoint.options)]),
      endpoint.id,
    ],
  );
  routingChanged(sql);
  invalidateDeliveryTarget(endpoint.id);
}

/**
 * Bumps `updated_at`. Inside a transaction this is also the row lock (PostgreSQL) that
 * serialises read-modify-write sequences (header patches, secret rotations) on one endpoint.
 */
export async function touchEndpoint(sql: Sql, id: EndpointId, now: number): Promise<void> {
  await sql.run('UPDATE endpoints SET updated_at = ? WHERE id = ?', [now, id]);
}

export async function updateEndpointHeaders(
  sql: Sql,
  id: EndpointId,
  sealedHeaders: string,
  now: number,
): Promise<void> {
  await sql.run('UPDATE endpoints SET headers = ?, updated_at = ? WHERE id = ?', [
    sealedHeaders,
    now,
    id,
  ]);
  invalidateDeliveryTarget(id);
}

export async function updateEndpointSecret(
  sql: Sql,
  id: EndpointId,
  sealedSecret: string,
  now: number,
): Promise<void> {
  await sql.run('UPDATE endpoints SET secret = ?, updated_at = ? WHERE id = ?', [
    sealedSecret,
    now,
    id,
  ]);
  invalidateDeliveryTarget(id);
}

/** Soft delete: the row stays for the attempt history; its uid is freed for reuse. */
export async function deleteEndpoint(sql: Sql, id: EndpointId, now: number): Promise<void> {
  await sql.run('UPDATE endpoints SET deleted_at = ?, uid = NULL, updated_at = ? WHERE id = ?', [
    now,
    now,
    id,
  ]);
  routingChanged(sql);
  invalidateDeliveryTarget(id);
}

export async function listEndpoints(
  sql: Sql,
  appId: AppId,
  request: PageRequest,
): Promise<Page<EndpointRecord>> {
  const plan = planPage('id', request);
  const rows = await sql.all<Row>(
    `SELECT ${COLUMNS} FROM endpoints WHERE app_id = ? AND deleted_at IS NULL AND ${plan.where} ORDER BY ${plan.orderBy} LIMIT ?`,
    [appId, ...plan.params, plan.limit],
  );
  return toPage(rows, plan, (row) => row.id, fromRow);
}

/**
 * Whether an endpoint's filters let a message through: it listens to the message's event type
 * (or to all), and shares at least one channel with it (or listens to all channels). A message
 * without channels does not reach an endpoint that has channels.
 */
export function acceptsMessage(
  filters: { eventTypes: readonly string[] | null; channels: readonly string[] | null },
  eventType: string,
  channels: readonly string[] | null,
): boolean {
  const types = filters.eventTypes;
  if (types && types.length > 0 && !types.includes(eventType)) return false;
  const wanted = filters.channels;
  if (wanted && wanted.length > 0) {
    return channels?.some((channel) => wanted.includes(channel)) ?? false;
  }
  return true;
}

/**
 * The endpoints a new message goes to: not deleted, not disabled, and `acceptsMessage`.
 * Takes a `Sql` so it runs inside a transaction. Ascending by id.
 */
export async function listMatchingEndpoints(
  sql: Sql,
  appId: AppId,
  eventType: string,
  channels: readonly string[] | null,
): Promise<EndpointRecord[]> {
  const rows = await sql.all<Row>(
    `SELECT ${COLUMNS} FROM endpoints WHERE app_id = ? AND deleted_at IS NULL AND disabled = 0 ORDER BY id`,
    [appId],
  );
  return rows.map(fromRow).filter((endpoint) => acceptsMessage(endpoint, eventType, channels));
}

// ---------------------------------------------------------------------------------------------
// Rotated-out secrets

export async function insertOldSecret(
  sql: Sql,
  endpointId: EndpointId,
  sealedSecret: string,
  expiresAt: number,
): Promise<void> {
  await sql.run(
    'INSERT INTO endpoint_old_secrets (endpoint_id, secret, expires_at) VALUES (?, ?, ?)',
    [endpointId, sealedSecret, expiresAt],
  );
  invalidateDeliveryTarget(endpointId);
}

/** Sealed old secrets still inside their grace period (`expires_at > now`). */
export async function listOldSecrets(
  sql: Sql,
  endpointId: EndpointId,
  now: number,
): Promise<{ secret: string; expiresAt: number }[]> {
  const rows = await sql.all<{ secret: string; expires_at: number }>(
    'SELECT secret, expires_at FROM endpoint_old_secrets WHERE endpoint_id = ? AND expires_at > ? ORDER BY expires_at DESC',
    [endpointId, now],
  );
  return rows.map((row) => ({ secret: row.secret, expiresAt: Number(row.expires_at) }));
}

export async function countOldSecrets(
  sql: Sql,
  endpointId: EndpointId,
  now: number,
): Promise<number> {
  const row = await sql.get<{ n: number }>(
    'SELECT COUNT(*) AS n FROM endpoint_old_secrets WHERE endpoint_id = ? AND expires_at > ?',
    [endpointId, now],
  );
  return Number(row?.n ?? 0);
}

/** Forgets old secrets whose grace period is over. */
export async function purgeExpiredOldSecrets(
  sql: Sql,
  endpointId: EndpointId,
  now: number,
): Promise<void> {
  await sql.run('DELETE FROM endpoint_old_secrets WHERE endpoint_id = ? AND expires_at <= ?', [
    endpointId,
    now,
  ]);
}
