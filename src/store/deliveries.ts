import type { AppId, DeliveryId, EndpointId, MessageId } from '../core/ids.js';
import type { EndpointRecord } from './endpoints.js';
import { fromJson } from './json.js';
import {
  type MessageFilter,
  type MessageRecord,
  type MessageRow,
  messageColumns,
  messageConditions,
  messageFromRow,
  planTimeWindow,
  type WindowRequest,
} from './messages.js';
import { type Page, type PageRequest, planPage, toPage } from './pagination.js';
import { paddedInLists, type Sql, type SqlValue } from './sql.js';

/** Svix's MessageStatus: 0 success, 1 pending, 2 fail, 3 sending, 4 canceled. */
export const MessageStatus = {
  Success: 0,
  Pending: 1,
  Fail: 2,
  Sending: 3,
  Canceled: 4,
} as const;
export type MessageStatus = (typeof MessageStatus)[keyof typeof MessageStatus];

/** Svix's MessageAttemptTriggerType: 0 scheduled (normal delivery and retries), 1 manual. */
export const TriggerType = { Scheduled: 0, Manual: 1 } as const;
export type TriggerType = (typeof TriggerType)[keyof typeof TriggerType];

/**
 * One (message, endpoint) unit of work for the delivery engine. It is due when
 * `nextAttemptAt <= now` and its lease (if any) has run out; `nextAttemptAt` is null once the
 * delivery is finished (succeeded or given up).
 */
export interface DeliveryRecord {
  id: DeliveryId;
  msgId: MessageId;
  appId: AppId;
  endpointId: EndpointId;
  status: MessageStatus;
  triggerType: TriggerType;
  attemptCount: number;
  nextAttemptAt: number | null;
  leaseUntil: number | null;
  leasedBy: string | null;
  createdAt: number;
  updatedAt: number;
}

interface Row {
  id: string;
  msg_id: string;
  app_id: string;
  endpoint_id: string;
  status: number;
  trigger_type: number;
  attempt_count: number;
  next_attempt_at: number | null;
  lease_until: number | null;
  leased_by: string | null;
  created_at: number;
  updated_at: number;
}

const COLUMNS =
  'id, msg_id, app_id, endpoint_id, status, trigger_type, attempt_count, next_attempt_at, lease_until, leased_by, created_at, updated_at';

function nullableNumber(value: number | null): number | null {
  return value === null ? null : Number(value);
}

function fromRow(row: Row): DeliveryRecord {
  return {
    id: row.id as DeliveryId,
    msgId: row.msg_id as MessageId,
    appId: row.app_id as AppId,
    endpointId: row.endpoint_id as EndpointId,
    status: row.status as MessageStatus,
    triggerType: row.trigger_type as TriggerType,
    attemptCount: row.attempt_count,
    nextAttemptAt: nullableNumber(row.next_attempt_at),
    leaseUntil: nullableNumber(row.lease_until),
    leasedBy: row.leased_by,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

const INSERT_CHUNK = 500;

/** Multi-row INSERTs (one statement per 500 rows): message create stays a few statements. */
export async function insertDeliveries(sql: Sql, deliveries: DeliveryRecord[]): Promise<void> {
  for (let start = 0; start < deliveries.length; start += INSERT_CHUNK) {
    const chunk = deliveries.slice(start, start + INSERT_CHUNK);
    const params: SqlValue[] = [];
    for (const d of chunk) {
      params.push(
        d.id,
        d.msgId,
        d.appId,
        d.endpointId,
        d.status,
        d.triggerType,
        d.attemptCount,
        d.nextAttemptAt,
        d.leaseUntil,
        d.leasedBy,
        d.createdAt,
        d.updatedAt,
      );
    }
    const values = chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
    await sql.run(`INSERT INTO deliveries (${COLUMNS}) VALUES ${values}`, params);
  }
}

export async function findDelivery(sql: Sql, id: DeliveryId): Promise<DeliveryRecord | undefined> {
  const row = await sql.get<Row>(`SELECT ${COLUMNS} FROM deliveries WHERE id = ?`, [id]);
  return row && fromRow(row);
}

/** Every delivery row of a message, oldest first (resends add rows). */
export async function listDeliveriesOfMessage(
  sql: Sql,
  msgId: MessageId,
): Promise<DeliveryRecord[]> {
  const rows = await sql.all<Row>(
    `SELECT ${COLUMNS} FROM deliveries WHERE msg_id = ? ORDER BY id`,
    [msgId],
  );
  return rows.map(fromRow);
}

/**
 * Leases up to `limit` due deliveries to `worker` and returns them, earliest due first.
 * The lease is expressed by moving `next_attempt_at` to the lease's end: a claimed row simply
 * is not due until then, so a crashed worker's claims fall due again by themselves and "when is
 * the next work" stays one indexed MIN. On PostgreSQL concurrent workers skip each other's
 * rows (`FOR UPDATE SKIP LOCKED`); SQLite has a single writer, so the statement is atomic.
 */
export async function claimDueDeliveries(
  sql: Sql,
  options: { now: number; limit: number; leaseMs: number; worker: string },
): Promise<DeliveryRecord[]> {
  const { now, limit, leaseMs, worker } = options;
  const lock = sql.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
  const rows = await sql.all<Row>(
    `UPDATE deliveries SET next_attempt_at = ?, lease_until = ?, leased_by = ?, updated_at = ?
     WHERE id IN (
       SELECT id FROM deliveries WHERE next_attempt_at <= ?
       ORDER BY next_attempt_at LIMIT ?${lock}
     )
     RETURNING ${COLUMNS}`,
    [now + leaseMs, now + leaseMs, worker, now, now, limit],
  );
  return rows.map(fromRow).sort((a, b) => (a.id < b.id ? -1 : 1));
}

export interface DeliveryUpdate {
  status: MessageStatus;
  attemptCount: number;
  /** When to try again; null when the delivery is finished. */
  nextAttemptAt: number | null;
  now: number;
}

/**
 * Records the outcome of an attempt and releases the lease. With `worker` it only applies
 * while that worker still holds the lease; resolves to whether the row was updated.
 */
export async function updateDelivery(
  sql: Sql,
  id: DeliveryId,
  update: DeliveryUpdate,
  worker?: string,
): Promise<boolean> {
  const guard = worker === undefined ? '' : ' AND leased_by = ?';
  const changed = await sql.run(
    `UPDATE deliveries SET status = ?, attempt_count = ?, next_attempt_at = ?, lease_until = NULL, leased_by = NULL, updated_at = ? WHERE id = ?${guard}`,
    [
      update.status,
      update.attemptCount,
      update.nextAttemptAt,
      update.now,
      id,
      ...(worker === undefined ? [] : [worker]),
    ],
  );
  return changed > 0;
}

/**
 * Records successful attempts of several deliveries at once (status success, one attempt more,
 * finished, lease released), only for those `worker` still holds. Resolves to the ids that were
 * updated.
 */
export async function completeDeliveries(
  sql: Sql,
  ids: readonly DeliveryId[],
  now: number,
  worker: string,
): Promise<Set<string>> {
  const updated = new Set<string>();
  for (const list of paddedInLists(ids)) {
    const rows = await sql.all<{ id: string }>(
      `UPDATE deliveries SET status = ?, attempt_count = attempt_count + 1, next_attempt_at = NULL, lease_until = NULL, leased_by = NULL, updated_at = ?
       WHERE leased_by = ? AND id IN (${list.placeholders}) RETURNING id`,
      [MessageStatus.Success, now, worker, ...list.values],
    );
    for (const row of rows) updated.add(row.id);
  }
  return updated;
}

/**
 * Puts a leased delivery back in the queue for `at` without counting an attempt (rate limit,
 * circuit breaker, ordering) and releases the lease; only while `worker` still holds it.
 */
export async function rescheduleDelivery(
  sql: Sql,
  id: DeliveryId,
  at: number,
  worker: string,
  now: number,
): Promise<boolean> {
  const changed = await sql.run(
    'UPDATE deliveries SET next_attempt_at = ?, lease_until = NULL, leased_by = NULL, updated_at = ? WHERE id = ? AND leased_by = ?',
    [at, now, id, worker],
  );
  return changed > 0;
}

// ---------------------------------------------------------------------------------------------
// Attempted destinations and attempted messages: deliveries joined with what they deliver.

interface EndpointRow {
  ep_id: string;
  ep_app_id: string;
  ep_uid: string | null;
  ep_url: string;
  ep_description: string;
  ep_version: number;
  ep_throttle_rate: number | null;
  ep_disabled: number;
  ep_event_types: string | null;
  ep_channels: string | null;
  ep_metadata: string;
  ep_created_at: number;
  ep_updated_at: number;
}

const ENDPOINT_COLUMNS = [
  'id',
  'app_id',
  'uid',
  'url',
  'description',
  'version',
  'throttle_rate',
  'disabled',
  'event_types',
  'channels',
  'metadata',
  'created_at',
  'updated_at',
]
  .map((name) => `e.${name} AS ep_${name}`)
  .join(', ');

function endpointFromRow(row: EndpointRow): EndpointRecord {
  return {
    id: row.ep_id as EndpointId,
    appId: row.ep_app_id as AppId,
    uid: row.ep_uid,
    url: row.ep_url,
    description: row.ep_description,
    version: Number(row.ep_version),
    throttleRate: nullableNumber(row.ep_throttle_rate),
    disabled: Number(row.ep_disabled) !== 0,
    eventTypes: fromJson<string[]>(row.ep_event_types),
    channels: fromJson<string[]>(row.ep_channels),
    metadata: fromJson<Record<string, string>>(row.ep_metadata) ?? {},
    createdAt: Number(row.ep_created_at),
    updatedAt: Number(row.ep_updated_at),
  };
}

/** The latest delivery row of each (message, endpoint) pair: resends add newer rows. */
const LATEST =
  'd.id = (SELECT MAX(d2.id) FROM deliveries d2 WHERE d2.msg_id = d.msg_id AND d2.endpoint_id = d.endpoint_id)';

export interface DeliveryState {
  status: MessageStatus;
  nextAttemptAt: number | null;
}

interface StateRow {
  d_status: number;
  d_next_attempt_at: number | null;
}

function stateFromRow(row: StateRow): DeliveryState {
  return {
    status: row.d_status as MessageStatus,
    nextAttemptAt: nullableNumber(row.d_next_attempt_at),
  };
}

/** Attempted destinations: the endpoints a message was queued for, ascending by endpoint id. */
export async function listAttemptedDestinations(
  sql: Sql,
  msgId: MessageId,
  request: PageRequest,
): Promise<Page<{ endpoint: EndpointRecord; delivery: DeliveryState }>> {
  const plan = planPage('e.id', request);
  const rows = await sql.all<EndpointRow & StateRow>(
    `SELECT ${ENDPOINT_COLUMNS}, d.status AS d_status, d.next_attempt_at AS d_next_attempt_at
     FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
     WHERE d.msg_id = ? AND ${LATEST} AND ${plan.where}
     ORDER BY ${plan.orderBy} LIMIT ?`,
    [msgId, ...plan.params, plan.limit],
  );
  return toPage(
    rows,
    plan,
    (row) => row.ep_id,
    (row) => ({ endpoint: endpointFromRow(row), delivery: stateFromRow(row) }),
  );
}

export interface AttemptedMessagesFilter extends MessageFilter {
  /** Any of these statuses (of the latest delivery row). */
  statuses?: MessageStatus[];
  withPayload: boolean;
}

/** Attempted messages: the messages queued for an endpoint, newest first, with their state. */
export async function listAttemptedMessages(
  sql: Sql,
  endpointId: EndpointId,
  filter: AttemptedMessagesFilter,
  window: WindowRequest,
): Promise<Page<{ message: MessageRecord; delivery: DeliveryState }>> {
  const plan = planTimeWindow('message', 'm.id', 'm.created_at', window);
  const [conditions, values] = messageConditions('m', filter);
  const where = ['d.endpoint_id = ?', LATEST, plan.where, ...conditions];
  const params: SqlValue[] = [endpointId, ...plan.params, ...values];
  if (filter.statuses && filter.statuses.length > 0) {
    where.push(`d.status IN (${filter.statuses.map(() => '?').join(', ')})`);
    params.push(...filter.statuses);
  }
  const rows = await sql.all<MessageRow & StateRow>(
    `SELECT ${messageColumns('m', filter.withPayload)}, d.status AS d_status, d.next_attempt_at AS d_next_attempt_at
     FROM deliveries d JOIN messages m ON m.id = d.msg_id
     WHERE ${where.join(' AND ')}
     ORDER BY ${plan.orderBy} LIMIT ?`,
    [...params, plan.limit],
  );
  return toPage(
    rows,
    plan,
    (row) => row.id,
    (row) => ({ message: messageFromRow(row), delivery: stateFromRow(row) }),
  );
}

/** Queue health for metrics and readiness: how much is due, and how long the oldest has waited. */
export async function queueStats(
  sql: Sql,
  now: number,
): Promise<{ due: number; oldestDueAgeMs: number }> {
  const row = await sql.get<{ due: number; oldest: number | null }>(
    'SELECT COUNT(*) AS due, MIN(next_attempt_at) AS oldest FROM deliveries WHERE next_attempt_at <= ?',
    [now],
  );
  const oldest = row?.oldest === null || row?.oldest === undefined ? now : Number(row.oldest);
  return { due: Number(row?.due ?? 0), oldestDueAgeMs: Math.max(0, now - oldest) };
}

/** When the earliest unfinished delivery falls due (claims included), for the idle sleep. */
export async function nextDueAt(sql: Sql): Promise<number | undefined> {
  const row = await sql.get<{ next: number | null }>(
    'SELECT MIN(next_attempt_at) AS next FROM deliveries WHERE next_attempt_at IS NOT NULL',
  );
  return row?.next === null || row?.next === undefined ? undefined : Number(row.next);
}
