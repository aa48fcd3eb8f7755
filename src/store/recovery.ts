import type { AppId, EndpointId, MessageId } from '../core/ids.js';
import { idFloorAt } from '../core/ids.js';
import { MessageStatus } from './deliveries.js';
import type { Sql } from './sql.js';

/** Messages whose delivery to an endpoint ended in failure and never succeeded, in a window. */
export async function failedMessageIds(
  sql: Sql,
  endpointId: EndpointId,
  window: { since: number; until: number },
  cap: number,
): Promise<MessageId[]> {
  const rows = await sql.all<{ msg_id: string }>(
    `SELECT DISTINCT d.msg_id FROM deliveries d
     WHERE d.endpoint_id = ? AND d.msg_id >= ? AND d.msg_id < ?
       AND d.status = ? AND d.next_attempt_at IS NULL
       AND NOT EXISTS (
         SELECT 1 FROM deliveries s
         WHERE s.endpoint_id = d.endpoint_id AND s.msg_id = d.msg_id
           AND (s.status = ? OR s.next_attempt_at IS NOT NULL)
       )
     ORDER BY d.msg_id LIMIT ?`,
    [
      endpointId,
      idFloorAt('message', window.since),
      idFloorAt('message', window.until + 4),
      MessageStatus.Fail,
      MessageStatus.Success,
      cap,
    ],
  );
  return rows.map((row) => row.msg_id as MessageId);
}

export interface MessageHeader {
  id: MessageId;
  eventType: string;
  channels: string[] | null;
  payloadExpiresAt: number | null;
}

/** Messages of an application in a window that were never queued for an endpoint. */
export async function messagesNeverSentTo(
  sql: Sql,
  appId: AppId,
  endpointId: EndpointId,
  window: { since: number; until: number },
  cap: number,
): Promise<MessageHeader[]> {
  const rows = await sql.all<{
    id: string;
    event_type: string;
    channels: string | null;
    payload_expires_at: number | null;
  }>(
    `SELECT m.id, m.event_type, m.channels, m.payload_expires_at FROM messages m
     WHERE m.app_id = ? AND m.id >= ? AND m.id < ? AND m.payload IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.msg_id = m.id AND d.endpoint_id = ?)
     ORDER BY m.id LIMIT ?`,
    [
      appId,
      idFloorAt('message', window.since),
      idFloorAt('message', window.until + 4),
      endpointId,
      cap,
    ],
  );
  return rows.map((row) => ({
    id: row.id as MessageId,
    eventType: row.event_type,
    channels: row.channels === null ? null : (JSON.parse(row.channels) as string[]),
    payloadExpiresAt: row.payload_expires_at === null ? null : Number(row.payload_expires_at),
  }));
}

export interface AttemptCounts {
  success: number;
  fail: number;
}

/** Attempts to an endpoint by outcome, in a window (Svix's endpoint stats count attempts). */
export async function attemptCountsOfEndpoint(
  sql: Sql,
  endpointId: EndpointId,
  window: { since: number; until: number },
): Promise<AttemptCounts> {
  const rows = await sql.all<{ status: number; n: number }>(
    `SELECT status, COUNT(*) AS n FROM attempts
     WHERE endpoint_id = ? AND created_at >= ? AND created_at <= ? GROUP BY status`,
    [endpointId, window.since, window.until],
  );
  const count = (status: number) =>
    Number(rows.find((row) => Number(row.status) === status)?.n ?? 0);
  return { success: count(MessageStatus.Success), fail: count(MessageStatus.Fail) };
}

/** Unfinished deliveries of an endpoint: never tried (pending) and waiting for a retry (sending). */
export async function openDeliveryCounts(
  sql: Sql,
  endpointId: EndpointId,
): Promise<{ pending: number; sending: number }> {
  const row = await sql.get<{ pending: number; sending: number }>(
    `SELECT
       SUM(CASE WHEN attempt_count = 0 THEN 1 ELSE 0 END) AS pending,
       SUM(CASE WHEN attempt_count > 0 THEN 1 ELSE 0 END) AS sending
     FROM deliveries WHERE endpoint_id = ? AND next_attempt_at IS NOT NULL`,
    [endpointId],
  );
  return { pending: Number(row?.pending ?? 0), sending: Number(row?.sending ?? 0) };
}

export interface EventTypeStats {
  eventType: string;
  attempts: number;
  successes: number;
  failures: number;
  totalDurationMs: number;
}

/** Attempts of an application per event type in a window: the ecosystem seed's customer stats. */
export async function attemptStatsOfApplication(
  sql: Sql,
  appId: AppId,
  window: { since: number; until: number },
): Promise<{ messages: number; byEventType: EventTypeStats[] }> {
  const rows = await sql.all<{
    event_type: string;
    attempts: number;
    successes: number;
    duration: number;
  }>(
    `SELECT m.event_type, COUNT(*) AS attempts,
       SUM(CASE WHEN a.status = ? THEN 1 ELSE 0 END) AS successes,
       SUM(a.response_duration_ms) AS duration
     FROM attempts a JOIN messages m ON m.id = a.msg_id
     WHERE a.app_id = ? AND a.created_at >= ? AND a.created_at <= ?
     GROUP BY m.event_type ORDER BY m.event_type`,
    [MessageStatus.Success, appId, window.since, window.until],
  );
  const messages = await sql.get<{ n: number }>(
    'SELECT COUNT(*) AS n FROM messages WHERE app_id = ? AND id >= ? AND id < ?',
    [appId, idFloorAt('message', window.since), idFloorAt('message', window.until + 4)],
  );
  return {
    messages: Number(messages?.n ?? 0),
    byEventType: rows.map((row) => ({
      eventType: row.event_type,
      attempts: Number(row.attempts),
      successes: Number(row.successes),
      failures: Number(row.attempts) - Number(row.successes),
      totalDurationMs: Number(row.duration ?? 0),
    })),
  };
}
