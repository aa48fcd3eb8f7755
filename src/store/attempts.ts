import type { AppId, AttemptId, DeliveryId, EndpointId, MessageId } from '../core/ids.js';
import type { MessageStatus, TriggerType } from './deliveries.js';
import {
  type MessageFilter,
  type MessageRecord,
  type MessageRow,
  messageColumnsAs,
  messageConditions,
  messageFromRow,
  planTimeWindow,
  type WindowRequest,
} from './messages.js';
import { type Page, toPage } from './pagination.js';
import { insertRows, type Sql, type SqlValue } from './sql.js';

/** One HTTP request to an endpoint (or the failure to make one), as Svix reports it. */
export interface AttemptRecord {
  id: AttemptId;
  msgId: MessageId;
  endpointId: EndpointId;
  appId: AppId;
  deliveryId: DeliveryId | null;
  url: string;
  /** Response body (truncated by the engine), or the transport error text. */
  response: string;
  /** 0 when there was no HTTP response. */
  responseStatusCode: number;
  responseDurationMs: number;
  status: MessageStatus;
  triggerType: TriggerType;
  /** Internal error detail (not on the wire). */
  error: string | null;
  /** When the attempt started. */
  createdAt: number;
}

interface Row {
  id: string;
  msg_id: string;
  endpoint_id: string;
  app_id: string;
  delivery_id: string | null;
  url: string;
  response: string;
  response_status_code: number;
  response_duration_ms: number;
  status: number;
  trigger_type: number;
  error: string | null;
  created_at: number;
}

const NAMES = [
  'id',
  'msg_id',
  'endpoint_id',
  'app_id',
  'delivery_id',
  'url',
  'response',
  'response_status_code',
  'response_duration_ms',
  'status',
  'trigger_type',
  'error',
  'created_at',
];

function columns(alias: string, withResponse: boolean): string {
  return NAMES.map((name) =>
    name === 'response' && !withResponse ? "'' AS response" : `${alias}.${name}`,
  ).join(', ');
}

function fromRow(row: Row): AttemptRecord {
  return {
    id: row.id as AttemptId,
    msgId: row.msg_id as MessageId,
    endpointId: row.endpoint_id as EndpointId,
    appId: row.app_id as AppId,
    deliveryId: row.delivery_id as DeliveryId | null,
    url: row.url,
    response: row.response,
    responseStatusCode: row.response_status_code,
    responseDurationMs: row.response_duration_ms,
    status: row.status as MessageStatus,
    triggerType: row.trigger_type as TriggerType,
    error: row.error,
    createdAt: Number(row.created_at),
  };
}

/** An attempt's column values, in the order of NAMES. */
function rowParams(attempt: AttemptRecord): SqlValue[] {
  return [
    attempt.id,
    attempt.msgId,
    attempt.endpointId,
    attempt.appId,
    attempt.deliveryId,
    attempt.url,
    attempt.response,
    attempt.responseStatusCode,
    attempt.responseDurationMs,
    attempt.status,
    attempt.triggerType,
    attempt.error,
    attempt.createdAt,
  ];
}

/** The delivery engine's write path: one row per attempt. */
export async function insertAttempt(sql: Sql, attempt: AttemptRecord): Promise<void> {
  await insertRows(sql, 'attempts', NAMES, [attempt], rowParams);
}

/** Several attempt rows in a few multi-row INSERTs. */
export async function insertAttempts(sql: Sql, attempts: readonly AttemptRecord[]): Promise<void> {
  await insertRows(sql, 'attempts', NAMES, attempts, rowParams);
}

/** An attempt of one message (an attempt of another message is not found). */
export async function findAttempt(
  sql: Sql,
  msgId: MessageId,
  id: string,
): Promise<AttemptRecord | undefined> {
  const row = await sql.get<Row>(
    `SELECT ${columns('a', true)} FROM attempts a WHERE a.id = ? AND a.msg_id = ?`,
    [id, msgId],
  );
  return row && fromRow(row);
}

export interface AttemptListFilter {
  appId: AppId;
  endpointId?: EndpointId;
  msgId?: MessageId;
  /** Any of these statuses. */
  statuses?: MessageStatus[];
  /** 0, 100, 200, 300, 400 or 500: the response status code's class (0 = no response). */
  statusCodeClass?: number;
  /** Filters on the attempt's message. */
  message?: MessageFilter;
  withResponse: boolean;
  /** Also read each attempt's message (without payload). */
  withMsg?: boolean;
}

export interface AttemptWithMessage {
  attempt: AttemptRecord;
  message: MessageRecord | null;
}

/** Attempts newest first, by endpoint and/or message, in Svix's 90-day windows. */
export async function listAttempts(
  sql: Sql,
  filter: AttemptListFilter,
  window: WindowRequest,
): Promise<Page<AttemptWithMessage>> {
  const plan = planTimeWindow('attempt', 'a.id', 'a.created_at', window);
  const where = ['a.app_id = ?', plan.where];
  const params: SqlValue[] = [filter.appId, ...plan.params];
  if (filter.endpointId !== undefined) {
    where.push('a.endpoint_id = ?');
    params.push(filter.endpointId);
  }
  if (filter.msgId !== undefined) {
    where.push('a.msg_id = ?');
    params.push(filter.msgId);
  }
  if (filter.statuses && filter.statuses.length > 0) {
    where.push(`a.status IN (${filter.statuses.map(() => '?').join(', ')})`);
    params.push(...filter.statuses);
  }
  if (filter.statusCodeClass !== undefined) {
    const low = filter.statusCodeClass;
    where.push('a.response_status_code >= ?', 'a.response_status_code < ?');
    params.push(low, low === 0 ? 100 : low + 100);
  }
  const [conditions, values] = messageConditions('m', filter.message ?? {});
  where.push(...conditions);
  params.push(...values);
  const joinMessages = filter.withMsg === true || conditions.length > 0;
  const select = filter.withMsg
    ? `${columns('a', filter.withResponse)}, ${messageColumnsAs('m', 'm_')}`
    : columns('a', filter.withResponse);
  const rows = await sql.all<Row & Record<string, unknown>>(
    `SELECT ${select} FROM attempts a${joinMessages ? ' JOIN messages m ON m.id = a.msg_id' : ''}
     WHERE ${where.join(' AND ')} ORDER BY ${plan.orderBy} LIMIT ?`,
    [...params, plan.limit],
  );
  return toPage(
    rows,
    plan,
    (row) => row.id,
    (row) => ({
      attempt: fromRow(row),
      message: filter.withMsg
        ? messageFromRow(unprefixed(row, 'm_') as unknown as MessageRow)
        : null,
    }),
  );
}

function unprefixed(row: Record<string, unknown>, prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (key.startsWith(prefix)) out[key.slice(prefix.length)] = value;
  }
  return out;
}
