import {
  type AppId,
  type EndpointId,
  hasPrefix,
  type IdKind,
  idFloorAt,
  idTimestampMs,
  type MessageId,
} from '../core/ids.js';
import { acceptsMessage } from './endpoints.js';
import { fromJson, toJson } from './json.js';
import { type Page, type PagePlan, toPage } from './pagination.js';
import { remembered } from './routing-cache.js';
import { type Database, insertRows, paddedInLists, type Sql, type SqlValue } from './sql.js';

export interface MessageRecord {
  id: MessageId;
  appId: AppId;
  eventId: string | null;
  eventType: string;
  /** The exact body to deliver (JSON text, or a rawPayload); null once expired or expunged. */
  payload: string | null;
  channels: string[] | null;
  tags: string[] | null;
  createdAt: number;
  payloadExpiresAt: number | null;
  /** The inbound event this message forwards (set only by inbound routing). */
  inboundEventId?: string | null;
}

export interface MessageRow {
  id: string;
  app_id: string;
  event_id: string | null;
  event_type: string;
  payload: string | null;
  channels: string | null;
  tags: string | null;
  created_at: number;
  payload_expires_at: number | null;
  inbound_event_id: string | null;
}

export function messageFromRow(row: MessageRow): MessageRecord {
  return {
    id: row.id as MessageId,
    appId: row.app_id as AppId,
    eventId: row.event_id,
    eventType: row.event_type,
    payload: row.payload,
    channels: fromJson<string[]>(row.channels),
    tags: fromJson<string[]>(row.tags),
    createdAt: Number(row.created_at),
    payloadExpiresAt: row.payload_expires_at === null ? null : Number(row.payload_expires_at),
    inboundEventId: row.inbound_event_id ?? null,
  };
}

const NAMES = [
  'id',
  'app_id',
  'event_id',
  'event_type',
  'payload',
  'channels',
  'tags',
  'created_at',
  'payload_expires_at',
  'inbound_event_id',
];

/** The message columns, qualified by `alias`; the payload is read only when asked for. */
export function messageColumns(alias: string, withPayload: boolean): string {
  return NAMES.map((name) =>
    name === 'payload' && !withPayload ? 'NULL AS payload' : `${alias}.${name}`,
  ).join(', ');
}

/** The message columns (payload excluded) renamed with `prefix`, to sit beside another table's. */
export function messageColumnsAs(alias: string, prefix: string): string {
  return NAMES.map((name) =>
    name === 'payload' ? `NULL AS ${prefix}payload` : `${alias}.${name} AS ${prefix}${name}`,
  ).join(', ');
}

function messageParams(message: MessageRecord): SqlValue[] {
  return [
    message.id,
    message.appId,
    message.eventId,
    message.eventType,
    message.payload,
    toJson(message.channels),
    toJson(message.tags),
    message.createdAt,
    message.payloadExpiresAt,
    message.inboundEventId ?? null,
  ];
}

export async function insertMessage(sql: Sql, message: MessageRecord): Promise<void> {
  await insertRows(sql, 'messages', NAMES, [message], messageParams);
}

/** Several messages in a few multi-row INSERTs (a batch create). */
export async function insertMessages(sql: Sql, messages: readonly MessageRecord[]): Promise<void> {
  await insertRows(sql, 'messages', NAMES, messages, messageParams);
}

/** Which of `eventIds` the application's messages already use. */
export async function takenEventIds(
  sql: Sql,
  appId: AppId,
  eventIds: readonly string[],
): Promise<Set<string>> {
  const taken = new Set<string>();
  for (const list of paddedInLists(eventIds)) {
    const rows = await sql.all<{ event_id: string }>(
      `SELECT event_id FROM messages WHERE app_id = ? AND event_id IN (${list.placeholders})`,
      [appId, ...list.values],
    );
    for (const row of rows) taken.add(row.event_id);
  }
  return taken;
}

/**
 * By id or eventId within one application (Svix's `{msg_id}` accepts either). Event ids may
 * not start with `msg_`, so the prefix says which column to look at.
 */
export async function findMessage(
  sql: Sql,
  appId: AppId,
  idOrEventId: string,
  options: { withPayload?: boolean } = {},
): Promise<MessageRecord | undefined> {
  const column = hasPrefix('message', idOrEventId) ? 'id' : 'event_id';
  const row = await sql.get<MessageRow>(
    `SELECT ${messageColumns('m', options.withPayload ?? true)} FROM messages m WHERE m.app_id = ? AND m.${column} = ?`,
    [appId, idOrEventId],
  );
  return row && messageFromRow(row);
}

/** By primary key, payload included (the delivery engine's read). */
export async function getMessageById(sql: Sql, id: MessageId): Promise<MessageRecord | undefined> {
  const row = await sql.get<MessageRow>(
    `SELECT ${messageColumns('m', true)} FROM messages m WHERE m.id = ?`,
    [id],
  );
  return row && messageFromRow(row);
}

/**
 * Several messages by primary key, payload included (the delivery engine's read for a claimed
 * batch).
 */
export async function getMessagesByIds(
  sql: Sql,
  ids: readonly MessageId[],
): Promise<Map<string, MessageRecord>> {
  const found = new Map<string, MessageRecord>();
  for (const list of paddedInLists(ids)) {
    const rows = await sql.all<MessageRow>(
      `SELECT ${messageColumns('m', true)} FROM messages m WHERE m.id IN (${list.placeholders})`,
      list.values,
    );
    for (const row of rows) found.set(row.id, messageFromRow(row));
  }
  return found;
}

/** Drops a message's payload (expiry sweeps, expunge); a resend then answers `missing_payload`. */
export async function clearMessagePayload(sql: Sql, id: MessageId): Promise<void> {
  await sql.run('UPDATE messages SET payload = NULL WHERE id = ?', [id]);
}

// ---------------------------------------------------------------------------------------------
// Filters and time windows shared by the message, attempt and attempted-message listings.

/**
 * `column` (a JSON text array of strings, as `toJson` writes it) contains `value`: portable,
 * no JSON functions needed. The quotes make it a whole-item match; LIKE wildcards are escaped.
 */
export function containsCondition(column: string, value: string): [string, SqlValue] {
  const needle = JSON.stringify(value).replace(/[\\%_]/g, (char) => `\\${char}`);
  return [`${column} LIKE ? ESCAPE '\\'`, `%${needle}%`];
}

export interface MessageFilter {
  /** Messages with this channel. */
  channel?: string;
  /** Messages with this tag. */
  tag?: string;
  /** Messages of any of these event types. */
  eventTypes?: string[];
}

/** The message filters as conditions on the messages table under `alias`. */
export function messageConditions(alias: string, filter: MessageFilter): [string[], SqlValue[]] {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (filter.channel !== undefined) {
    const [condition, param] = containsCondition(`${alias}.channels`, filter.channel);
    where.push(condition);
    params.push(param);
  }
  if (filter.tag !== undefined) {
    const [condition, param] = containsCondition(`${alias}.tags`, filter.tag);
    where.push(condition);
    params.push(param);
  }
  if (filter.eventTypes && filter.eventTypes.length > 0) {
    const [condition, values] = inCondition(`${alias}.event_type`, filter.eventTypes);
    where.push(condition);
    params.push(...values);
  }
  return [where, params];
}

export function inCondition(column: string, values: readonly string[]): [string, SqlValue[]] {
  return [`${column} IN (${values.map(() => '?').join(', ')})`, [...values]];
}

export interface WindowRequest {
  limit: number;
  /** An id of the listed kind; a leading `-` travels towards newer items. */
  iterator?: string | null;
  /** Epoch ms: only items created strictly before / after. */
  before?: number;
  after?: number;
  now: number;
}

const DAY_MS = 86_400_000;
/** Svix searches at most 90 days per request, and never more than an hour into the future. */
export const WINDOW_MS = 90 * DAY_MS;
const FUTURE_MS = 3_600_000;

/**
 * Svix's time-limited pagination for newest-first listings keyed by a time-sortable id.
 * Without bounds the last 90 days are searched; an iterator searches the 90 days before it
 * (or after it, for a `-` iterator); `before` / `after` bound the window exactly. `after`
 * alone returns the oldest items after it (still newest first), to continue with prevIterator.
 * The time bounds become id bounds (the index answers them), plus an exact check on the
 * creation time when the caller gave one.
 */
export function planTimeWindow(
  kind: IdKind,
  idColumn: string,
  timeColumn: string,
  request: WindowRequest,
): PagePlan {
  const raw = request.iterator ?? '';
  let backwards = raw.startsWith('-');
  const key = backwards ? raw.slice(1) : raw;
  const where: string[] = [];
  const params: SqlValue[] = [];
  let lower: number;
  let upper: number;
  if (key !== '') {
    const at = idTimestampMs(key) ?? request.now;
    where.push(`${idColumn} ${backwards ? '>' : '<'} ?`);
    params.push(key);
    if (backwards) {
      lower = request.after ?? at;
      upper = request.before ?? lower + WINDOW_MS;
    } else {
      upper = request.before ?? at + 4;
      lower = request.after ?? upper - WINDOW_MS;
    }
  } else if (request.before !== undefined) {
    upper = request.before;
    lower = request.after ?? upper - WINDOW_MS;
  } else if (request.after !== undefined) {
    backwards = true;
    lower = request.after;
    upper = lower + WINDOW_MS;
  } else {
    upper = request.now + FUTURE_MS;
    lower = request.now - WINDOW_MS;
  }
  upper = Math.min(upper, request.now + FUTURE_MS);
  where.push(`${idColumn} >= ?`, `${idColumn} < ?`);
  params.push(idFloorAt(kind, Math.max(0, lower)), idFloorAt(kind, upper + 4));
  if (request.after !== undefined) {
    where.push(`${timeColumn} > ?`);
    params.push(request.after);
  }
  if (request.before !== undefined) {
    where.push(`${timeColumn} < ?`);
    params.push(request.before);
  }
  return {
    where: where.join(' AND '),
    params,
    orderBy: `${idColumn} ${backwards ? 'ASC' : 'DESC'}`,
    limit: request.limit + 1,
    backwards,
  };
}

export interface MessageListFilter extends MessageFilter {
  withPayload: boolean;
}

export async function listMessages(
  sql: Sql,
  appId: AppId,
  filter: MessageListFilter,
  window: WindowRequest,
): Promise<Page<MessageRecord>> {
  const plan = planTimeWindow('message', 'm.id', 'm.created_at', window);
  const [conditions, values] = messageConditions('m', filter);
  const where = ['m.app_id = ?', plan.where, ...conditions];
  const params: SqlValue[] = [appId, ...plan.params, ...values];
  const rows = await sql.all<MessageRow>(
    `SELECT ${messageColumns('m', filter.withPayload)} FROM messages m WHERE ${where.join(' AND ')} ORDER BY ${plan.orderBy} LIMIT ?`,
    [...params, plan.limit],
  );
  return toPage(rows, plan, (row) => row.id, messageFromRow);
}

/** What routing needs of an endpoint: its id and its filters. */
interface EndpointRoute {
  id: EndpointId;
  eventTypes: string[] | null;
  channels: string[] | null;
}

/** The enabled endpoints of an application, by id: only the three columns routing reads. */
async function endpointRoutes(sql: Sql, appId: AppId): Promise<EndpointRoute[]> {
  const rows = await sql.all<{ id: string; event_types: string | null; channels: string | null }>(
    'SELECT id, event_types, channels FROM endpoints WHERE app_id = ? AND deleted_at IS NULL AND disabled = 0 ORDER BY id',
    [appId],
  );
  return rows.map((row) => ({
    id: row.id as EndpointId,
    eventTypes: fromJson<string[]>(row.event_types),
    channels: fromJson<string[]>(row.channels),
  }));
}

function matching(
  routes: readonly EndpointRoute[],
  eventType: string,
  channels: readonly string[] | null,
): EndpointId[] {
  return routes
    .filter((route) => acceptsMessage(route, eventType, channels))
    .map((route) => route.id);
}

/**
 * The ids of the endpoints a new message goes to (not deleted, not disabled, `acceptsMessage`),
 * by id. Works inside a transaction; outside one, `matchingEndpointIdsCached` is cheaper.
 */
export async function matchingEndpointIds(
  sql: Sql,
  appId: AppId,
  eventType: string,
  channels: readonly string[] | null,
): Promise<EndpointId[]> {
  return matching(await endpointRoutes(sql, appId), eventType, channels);
}

/**
 * `matchingEndpointIds` for the hot path of message creation: the application's endpoint
 * filters are remembered on SQLite (see routing-cache.ts), not read for every message.
 */
export async function matchingEndpointIdsCached(
  db: Database,
  appId: AppId,
  eventType: string,
  channels: readonly string[] | null,
): Promise<EndpointId[]> {
  const routes = await remembered(db, `routes:${appId}`, () => endpointRoutes(db, appId));
  return matching(routes ?? [], eventType, channels);
}
