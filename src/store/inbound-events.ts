import { type Id, idFloorAt } from '../core/ids.js';
import { fromJson, toJson } from './json.js';
import { type Page, type PageRequest, planPage, toPage } from './pagination.js';
import { type Fingerprint, fingerprint, RecentKeys } from './recent-keys.js';
import type { SourceId } from './sources.js';
import type { Sql, SqlValue } from './sql.js';

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
 *
 * Where this process is the only writer (SQLite), the check starts in memory (`RecentKeys`):
 * an index by key would cost a random page per event, while the one by receive time that
 * confirms a hit grows at its end.
 */
export async function insertInboundEvent(
  sql: Sql,
  event: Omit<InboundEventRecord, 'status' | 'error' | 'updatedAt'>,
  dedupWindowMs: number,
): Promise<InboundEventStatus> {
  if (dedupWindowMs > 0 && sql.dialect === 'postgres') {
    // Two processes storing the same provider event at the same instant would both find no
    // earlier row (neither sees the other's uncommitted insert). A transaction-scoped advisory
    // lock on (source, dedup key) makes the second wait for the first's commit; its check then
    // sees the first row. SQLite has a single writer, so check-then-insert is serial there.
    await sql.get('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [
      `inbound-dedup\n${event.sourceId}\n${event.dedupKey}`,
    ]);
  }
  const remembered =
    dedupWindowMs > 0 && sql.soleWriter !== undefined
      ? {
          memory: dedupMemory(sql.soleWriter),
          fp: fingerprint(`${event.sourceId}\n${event.dedupKey}`),
        }
      : undefined;
  const earlier =
    dedupWindowMs > 0 &&
    (remembered
      ? await rememberedWithin(sql, remembered.memory, remembered.fp, event, dedupWindowMs)
      : await storedWithin(sql, event, dedupWindowMs));
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
  if (remembered) {
    // Before the commit: should this transaction roll back, the key stays behind as a hint
    // that the next lookup finds to be wrong.
    const seconds = Math.floor(event.receivedAt / 1000);
    remembered.memory.keys.add(
      remembered.fp,
      seconds,
      expirySeconds(event.receivedAt, dedupWindowMs),
      seconds,
    );
  }
  return status;
}

type DedupFields = Pick<InboundEventRecord, 'sourceId' | 'dedupKey' | 'receivedAt'>;

/** Whether an event of the source with the same dedup key was received within the window. */
async function storedWithin(sql: Sql, event: DedupFields, windowMs: number): Promise<boolean> {
  const row = await sql.get<{ id: string }>(
    'SELECT id FROM inbound_events WHERE source_id = ? AND dedup_key = ? AND received_at >= ? LIMIT 1',
    [event.sourceId, event.dedupKey, event.receivedAt - windowMs],
  );
  return row !== undefined;
}

/**
 * `storedWithin` for the only writer: its memory holds every key of the window, so only a
 * fingerprint found there can be a duplicate, and the database confirms it by receive time and
 * key (a fingerprint may be another key's, or that of a write that rolled back).
 */
async function rememberedWithin(
  sql: Sql,
  memory: DedupMemory,
  fp: Fingerprint,
  event: DedupFields,
  windowMs: number,
): Promise<boolean> {
  const since = event.receivedAt - windowMs;
  if (memory.windows.get(event.sourceId) !== windowMs) {
    await rememberStoredKeys(sql, memory, event.sourceId, since, event.receivedAt, windowMs);
    memory.windows.set(event.sourceId, windowMs);
  }
  const nowSeconds = Math.floor(event.receivedAt / 1000);
  for (const seconds of memory.keys.find(fp, Math.floor(since / 1000), nowSeconds)) {
    const row = await sql.get<{ found: number }>(
      'SELECT 1 AS found FROM inbound_events WHERE source_id = ? AND received_at >= ? AND received_at < ? AND dedup_key = ? LIMIT 1',
      [event.sourceId, Math.max(since, seconds * 1000), (seconds + 1) * 1000, event.dedupKey],
    );
    if (row !== undefined) return true;
  }
  return false;
}

/**
 * What a process that is the database's only writer remembers of the dedup keys stored: the
 * keys themselves, and per source the window (ms) with which its keys were loaded and added
 * (another window, e.g. after a settings change, loads the source's keys again).
 */
interface DedupMemory {
  keys: RecentKeys;
  windows: Map<string, number>;
}

const dedupMemories = new WeakMap<object, DedupMemory>();

function dedupMemory(database: object): DedupMemory {
  let memory = dedupMemories.get(database);
  if (memory === undefined) {
    memory = { keys: new RecentKeys(), windows: new Map() };
    dedupMemories.set(database, memory);
  }
  return memory;
}

/** Entries live a second past the window (receive times are kept in whole seconds). */
function expirySeconds(receivedAt: number, windowMs: number): number {
  return Math.ceil((receivedAt + windowMs) / 1000) + 1;
}

const REMEMBER_PAGE = 10_000;

/**
 * Loads the keys of a source's events received since `since` (e.g. after a restart), a page at
 * a time along the `(source_id, received_at, dedup_key)` index: 2.3–2.5 s and +73–95 MB of RSS
 * per million keys on the reference machine. Keys already in memory are added again: a
 * fingerprint found twice costs a second confirmation, nothing more. SQLite's SQL (`rowid`, row
 * values): only a sole writer remembers keys, and only SQLite's connections are one.
 */
async function rememberStoredKeys(
  sql: Sql,
  memory: DedupMemory,
  sourceId: string,
  since: number,
  now: number,
  windowMs: number,
): Promise<void> {
  const nowSeconds = Math.floor(now / 1000);
  // Keyset pagination from just before the first row at `since` (every key is non-empty, every
  // rowid positive), so that the first page and the next ones are the same query.
  let after: KeyRow = { received_at: since, dedup_key: '', row: 0 };
  for (;;) {
    const rows = await sql.all<KeyRow>(
      'SELECT received_at, dedup_key, rowid AS row FROM inbound_events WHERE source_id = ? AND (received_at, dedup_key, rowid) > (?, ?, ?) ORDER BY received_at, dedup_key, rowid LIMIT ?',
      [sourceId, after.received_at, after.dedup_key, after.row, REMEMBER_PAGE],
    );
    for (const row of rows) {
      memory.keys.add(
        fingerprint(`${sourceId}\n${row.dedup_key}`),
        Math.floor(row.received_at / 1000),
        expirySeconds(row.received_at, windowMs),
        nowSeconds,
      );
    }
    if (rows.length < REMEMBER_PAGE) return;
    after = rows[rows.length - 1];
    // A million keys take seconds: let the event loop serve what does not wait for this
    // transaction (answers, health checks) between pages.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

interface KeyRow {
  received_at: number;
  dedup_key: string;
  row: number;
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

export interface InboundEventFilter {
  /** Any of these statuses. */
  statuses?: readonly InboundEventStatus[];
  /** The provider's event type, exactly. */
  eventType?: string;
  /** Received at or after (epoch ms). */
  since?: number;
  /** Received strictly before (epoch ms). */
  until?: number;
}

/**
 * The filter as conditions. Ids are time-sortable, so the time bounds are also id bounds
 * (answered by the `(source_id, id)` index) plus an exact check on the receive time.
 */
function filterConditions(filter: InboundEventFilter): [string, SqlValue[]] {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (filter.statuses && filter.statuses.length > 0) {
    where.push(`status IN (${filter.statuses.map(() => '?').join(', ')})`);
    params.push(...filter.statuses);
  }
  if (filter.eventType !== undefined) {
    where.push('event_type = ?');
    params.push(filter.eventType);
  }
  if (filter.since !== undefined) {
    where.push('id >= ?', 'received_at >= ?');
    params.push(idFloorAt('event', Math.max(0, filter.since - 4)), filter.since);
  }
  if (filter.until !== undefined) {
    where.push('id < ?', 'received_at < ?');
    params.push(idFloorAt('event', Math.max(0, filter.until + 4)), filter.until);
  }
  return [where.map((condition) => ` AND ${condition}`).join(''), params];
}

/** A source's events by id (newest first by default), filtered. */
export async function listInboundEvents(
  sql: Sql,
  sourceId: SourceId,
  request: PageRequest & InboundEventFilter & { status?: InboundEventStatus },
): Promise<Page<InboundEventSummary>> {
  const plan = planPage('id', request);
  const statuses = request.statuses ?? (request.status ? [request.status] : undefined);
  const [conditions, params] = filterConditions({ ...request, statuses });
  const rows = await sql.all<SummaryRow>(
    `SELECT ${SUMMARY_COLUMNS} FROM inbound_events WHERE source_id = ?${conditions} AND ${plan.where} ORDER BY ${plan.orderBy} LIMIT ?`,
    [sourceId, ...params, ...plan.params, plan.limit],
  );
  return toPage(rows, plan, (row) => row.id, summaryFromRow);
}

/**
 * The ids of a source's events matching `filter`, oldest first, after `afterId` (exclusive):
 * bulk replay walks them a page at a time.
 */
export async function listInboundEventIds(
  sql: Sql,
  sourceId: SourceId,
  filter: InboundEventFilter,
  afterId: string | null,
  limit: number,
): Promise<InboundEventId[]> {
  const [conditions, params] = filterConditions(filter);
  const after = afterId === null ? '' : ' AND id > ?';
  const rows = await sql.all<{ id: string }>(
    `SELECT id FROM inbound_events WHERE source_id = ?${conditions}${after} ORDER BY id LIMIT ?`,
    [sourceId, ...params, ...(afterId === null ? [] : [afterId]), limit],
  );
  return rows.map((row) => row.id as InboundEventId);
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

// ---------------------------------------------------------------------------------------------
// Destinations: what happened to an event at each endpoint it was forwarded to.

/** One delivery of a message that forwards an inbound event (first routing or a replay). */
export interface InboundEventDestination {
  messageId: string;
  /** The forwarded event type (after mapping). */
  eventType: string;
  messageCreatedAt: number;
  endpointId: string;
  /** The endpoint's current URL (null if the endpoint row is gone). */
  url: string | null;
  /** Svix's MessageStatus code (0 success, 1 pending, 2 fail, 3 sending, 4 canceled). */
  status: number;
  attempts: number;
  nextAttemptAt: number | null;
  lastAttempt: {
    statusCode: number;
    /** The response body, cut to `responseChars`. */
    response: string;
    at: number;
  } | null;
}

interface DestinationRow {
  msg_id: string;
  event_type: string;
  msg_created_at: number;
  endpoint_id: string;
  url: string | null;
  status: number;
  attempt_count: number;
  next_attempt_at: number | null;
  a_status_code: number | null;
  a_response: string | null;
  a_created_at: number | null;
}

/**
 * Every delivery of every message forwarding `eventId`, oldest message first, with each
 * delivery's latest attempt. At most `limit` rows (the newest, when there are more).
 */
export async function listInboundEventDestinations(
  sql: Sql,
  eventId: string,
  options: { limit?: number; responseChars?: number } = {},
): Promise<InboundEventDestination[]> {
  const limit = options.limit ?? 1000;
  const responseChars = options.responseChars ?? 1000;
  const rows = await sql.all<DestinationRow>(
    `SELECT m.id AS msg_id, m.event_type AS event_type, m.created_at AS msg_created_at,
            d.endpoint_id AS endpoint_id, e.url AS url, d.status AS status,
            d.attempt_count AS attempt_count, d.next_attempt_at AS next_attempt_at,
            a.response_status_code AS a_status_code, SUBSTR(a.response, 1, ?) AS a_response,
            a.created_at AS a_created_at
     FROM messages m
     JOIN deliveries d ON d.msg_id = m.id
     LEFT JOIN endpoints e ON e.id = d.endpoint_id
     LEFT JOIN attempts a ON a.id = (
       SELECT MAX(a2.id) FROM attempts a2
       WHERE a2.msg_id = d.msg_id AND a2.endpoint_id = d.endpoint_id AND a2.delivery_id = d.id
     )
     WHERE m.inbound_event_id = ?
     ORDER BY m.id DESC, d.id DESC
     LIMIT ?`,
    [responseChars, eventId, limit],
  );
  return rows.reverse().map((row) => ({
    messageId: row.msg_id,
    eventType: row.event_type,
    messageCreatedAt: Number(row.msg_created_at),
    endpointId: row.endpoint_id,
    url: row.url,
    status: Number(row.status),
    attempts: Number(row.attempt_count),
    nextAttemptAt: row.next_attempt_at === null ? null : Number(row.next_attempt_at),
    lastAttempt:
      row.a_created_at === null
        ? null
        : {
            statusCode: Number(row.a_status_code),
            response: row.a_response ?? '',
            at: Number(row.a_created_at),
          },
  }));
}
