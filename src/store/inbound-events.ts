import type { Id } from '../core/ids.js';
import { fromJson, toJson } from './json.js';
import { type Page, type PageRequest, planPage, toPage } from './pagination.js';
import type { SourceId } from './sources.js';
import type { Sql } from './sql.js';

export type InboundEventId = Id<'event'>;

export const INBOUND_EVENT_STATUSES = [
  'received',
  'duplicate',
  'routed',
  'failed',
  'dead-lettered',
] as const;
export type InboundEventStatus = (typeof INBOUND_EVENT_STATUSES)[number];

export type StoredHeaders = Record<string, string | string[]>;

/** A received request as stored: `body` is the exact bytes. */
export interface InboundEventRecord {
  id: InboundEventId;
  sourceId: SourceId;
  receivedAt: number;
  method: string;
  /** The raw query string, without `?` (the path is always `/in/{token}` and is not kept). */
  query: string;
  headers: StoredHeaders;
  body: Buffer;
  providerEventId: string | null;
  eventType: string | null;
  dedupKey: string;
  status: InboundEventStatus;
  error: string | null;
  updatedAt: number;
}

/** The same, without headers and body (list views). */
export type InboundEventSummary = Omit<InboundEventRecord, 'headers' | 'body'> & {
  bodySize: number;
};

interface SummaryRow {
  id: string;
  source_id: string;
  received_at: number;
  method: string;
  query: string;
  body_size: number;
  provider_event_id: string | null;
  event_type: string | null;
  dedup_key: string;
  status: string;
  error: string | null;
  updated_at: number;
}

interface Row extends SummaryRow {
  headers: string;
  body: string;
}

const SUMMARY_COLUMNS =
  'id, source_id, received_at, method, query, body_size, provider_event_id, event_type, dedup_key, status, error, updated_at';

function summaryFromRow(row: SummaryRow): InboundEventSummary {
  return {
    id: row.id as InboundEventId,
    sourceId: row.source_id as SourceId,
    receivedAt: Number(row.received_at),
    method: row.method,
    query: row.query,
    bodySize: Number(row.body_size),
    providerEventId: row.provider_event_id,
    eventType: row.event_type,
    dedupKey: row.dedup_key,
    status: row.status as InboundEventStatus,
    error: row.error,
    updatedAt: Number(row.updated_at),
  };
}

function fromRow(row: Row): InboundEventRecord & { bodySize: number } {
  return {
    ...summaryFromRow(row),
    headers: fromJson<StoredHeaders>(row.headers) ?? {},
    body: Buffer.from(row.body, 'base64'),
  };
}

/**
 * Stores a received request. When another event of the source carries the same dedup key and
 * was received within `dedupWindowMs`, this one is stored as `duplicate` (recorded, never
 * routed). Meant to run inside `db.batch`, so the check and the insert share one transaction.
 * Resolves to the status stored.
 */
export async function insertInboundEvent(
  sql: Sql,
  event: Omit<InboundEventRecord, 'status' | 'error' | 'updatedAt'>,
  dedupWindowMs: number,
): Promise<InboundEventStatus> {
  const earlier =
    dedupWindowMs > 0
      ? await sql.get<{ id: string }>(
          'SELECT id FROM inbound_events WHERE source_id = ? AND dedup_key = ? AND received_at >= ? LIMIT 1',
          [event.sourceId, event.dedupKey, event.receivedAt - dedupWindowMs],
        )
      : undefined;
  const status: InboundEventStatus = earlier ? 'duplicate' : 'received';
  await sql.run(
    `INSERT INTO inbound_events (id, source_id, received_at, method, query, headers, body, body_size, provider_event_id, event_type, dedup_key, status, error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
    [
      event.id,
      event.sourceId,
      event.receivedAt,
      event.method,
      event.query,
      toJson(event.headers),
      event.body.toString('base64'),
      event.body.length,
      event.providerEventId,
      event.eventType,
      event.dedupKey,
      status,
      event.receivedAt,
    ],
  );
  return status;
}

export async function findInboundEvent(
  sql: Sql,
  sourceId: SourceId,
  id: string,
): Promise<(InboundEventRecord & { bodySize: number }) | undefined> {
  const row = await sql.get<Row>(
    `SELECT ${SUMMARY_COLUMNS}, headers, body FROM inbound_events WHERE id = ? AND source_id = ?`,
    [id, sourceId],
  );
  return row && fromRow(row);
}

/** A source's events by id (newest first by default), optionally of one status. */
export async function listInboundEvents(
  sql: Sql,
  sourceId: SourceId,
  request: PageRequest & { status?: InboundEventStatus },
): Promise<Page<InboundEventSummary>> {
  const plan = planPage('id', request);
  const statusClause = request.status ? ' AND status = ?' : '';
  const rows = await sql.all<SummaryRow>(
    `SELECT ${SUMMARY_COLUMNS} FROM inbound_events WHERE source_id = ?${statusClause} AND ${plan.where} ORDER BY ${plan.orderBy} LIMIT ?`,
    [sourceId, ...(request.status ? [request.status] : []), ...plan.params, plan.limit],
  );
  return toPage(rows, plan, (row) => row.id, summaryFromRow);
}

export async function countInboundEvents(sql: Sql, sourceId?: SourceId): Promise<number> {
  const row = sourceId
    ? await sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM inbound_events WHERE source_id = ?', [
        sourceId,
      ])
    : await sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM inbound_events');
  return Number(row?.n ?? 0);
}

/** Moves an event to a new status (e.g. `routed` once forwarding is queued), with its error. */
export async function setInboundEventStatus(
  sql: Sql,
  id: InboundEventId,
  status: InboundEventStatus,
  error: string | null,
  updatedAt: number,
): Promise<void> {
  await sql.run('UPDATE inbound_events SET status = ?, error = ?, updated_at = ? WHERE id = ?', [
    status,
    error,
    updatedAt,
    id,
  ]);
}
