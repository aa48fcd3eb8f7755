import { isUtf8 } from 'node:buffer';
import { type AppId, newId } from '../core/ids.js';
import { newDeliveries } from '../outbound/messages.js';
import { firstAttemptDelayMs } from '../outbound/retry-policy.js';
import type { ServiceContext } from '../platform/context.js';
import { ensureInternalApplication } from '../store/applications.js';
import { insertDeliveries, TriggerType } from '../store/deliveries.js';
import { insertMessage, type MessageRecord, matchingEndpointIds } from '../store/messages.js';
import type { SourceId } from '../store/sources.js';
import type { Sql } from '../store/sql.js';

/**
 * Each source's ingest endpoints are the endpoints of a hidden application keyed by this
 * prefix and the source id (the colon keeps it out of reach of public uids).
 */
export const SOURCE_APP_PREFIX = 'switchboard:source:';

/** The event type of a forwarded message whose provider names none. */
export const DEFAULT_FORWARD_EVENT_TYPE = 'inbound.event';

/** Set on an event whose body was not UTF-8 and was forwarded as its base64 text. */
export const BINARY_BODY_ERROR = 'binary body forwarded as base64';

const PAYLOAD_RETENTION_MS = 90 * 86_400_000;

/** The hidden application of a source, created on first use. */
export function sourceAppId(ctx: ServiceContext, sourceId: SourceId, sql: Sql = ctx.db) {
  const key = `${SOURCE_APP_PREFIX}${sourceId}`;
  return ensureInternalApplication(sql, key, () => {
    const now = ctx.clock();
    return {
      id: newId('application', now),
      uid: key,
      name: `Ingest source ${sourceId}`,
      throttleRate: null,
      metadata: {},
      createdAt: now,
      updatedAt: now,
    };
  });
}

export interface ForwardableEvent {
  sourceId: SourceId;
  eventType: string | null;
  body: Buffer;
}

export interface Forwarded {
  /** Deliveries queued (0: the source has no enabled endpoint, nothing was written). */
  queued: number;
  /** Set when the body had to be forwarded as base64. */
  error: string | null;
}

/**
 * Queues a verified inbound event for the source's enabled endpoints: one outbound message of
 * the source's hidden application whose payload is the exact body text, and one delivery per
 * endpoint. Meant to run inside the `db.batch` that stores the event, so the event and its
 * forwarding commit together. The delivery engine then signs (Standard Webhooks), retries and
 * logs it like any other message. The caller wakes the workers after the commit.
 */
export async function forwardInboundEvent(
  ctx: ServiceContext,
  tx: Sql,
  event: ForwardableEvent,
  now: number,
): Promise<Forwarded> {
  const appId: AppId = await sourceAppId(ctx, event.sourceId, tx);
  const eventType = event.eventType || DEFAULT_FORWARD_EVENT_TYPE;
  const endpointIds = await matchingEndpointIds(tx, appId, eventType, null);
  if (endpointIds.length === 0) return { queued: 0, error: null };
  const utf8 = isUtf8(event.body);
  const message: MessageRecord = {
    id: newId('message', now),
    appId,
    eventId: null,
    eventType,
    payload: utf8 ? event.body.toString('utf8') : event.body.toString('base64'),
    channels: null,
    tags: null,
    createdAt: now,
    payloadExpiresAt: now + PAYLOAD_RETENTION_MS,
  };
  await insertMessage(tx, message);
  const dueAt = now + firstAttemptDelayMs(ctx.config.retryScheduleSeconds);
  await insertDeliveries(
    tx,
    newDeliveries(message, endpointIds, TriggerType.Scheduled, dueAt, now),
  );
  return { queued: endpointIds.length, error: utf8 ? null : BINARY_BODY_ERROR };
}
