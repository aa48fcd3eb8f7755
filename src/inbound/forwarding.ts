import { isUtf8 } from 'node:buffer';
import { type AppId, newId } from '../core/ids.js';
import { newDeliveries } from '../outbound/messages.js';
import { firstAttemptDelayMs } from '../outbound/retry-policy.js';
import type { ServiceContext } from '../platform/context.js';
import { ensureInternalApplication } from '../store/applications.js';
import { insertDeliveries, TriggerType } from '../store/deliveries.js';
import {
  type InboundEventId,
  type InboundEventStatus,
  type StoredHeaders,
  setInboundEventStatus,
} from '../store/inbound-events.js';
import { insertMessage, type MessageRecord, matchingEndpointIds } from '../store/messages.js';
import type { SourceId } from '../store/sources.js';
import type { Sql } from '../store/sql.js';
import { mapEvent, type StoredMapping } from './mappings.js';

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
  /** The inbound event forwarded: set on the message, so the event shows its destinations. */
  inboundEventId: InboundEventId;
  /** The event type to forward as (after mapping); null → `inbound.event`. */
  eventType: string | null;
  /** The body to forward (after mapping). */
  body: Buffer;
  /**
   * The source's hidden application when the caller already knows it (the receiver caches it
   * per live source after a commit); otherwise it is looked up, and created on first use, in
   * `tx`.
   */
  appId?: AppId;
}

export interface Forwarded {
  /** Deliveries queued (0: the source has no enabled endpoint, nothing was written). */
  queued: number;
  /** Set when the body had to be forwarded as base64. */
  error: string | null;
  /** The source's hidden application (valid for the caller to cache once `tx` commits). */
  appId: AppId;
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
  const appId: AppId = event.appId ?? (await sourceAppId(ctx, event.sourceId, tx));
  const eventType = event.eventType || DEFAULT_FORWARD_EVENT_TYPE;
  // A query each time, not a cache: it must see endpoints created a moment ago, also by
  // other processes.
  const endpointIds = await matchingEndpointIds(tx, appId, eventType, null);
  if (endpointIds.length === 0) return { queued: 0, error: null, appId };
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
    inboundEventId: event.inboundEventId,
  };
  await insertMessage(tx, message);
  const dueAt = now + firstAttemptDelayMs(ctx.config.retryScheduleSeconds);
  await insertDeliveries(
    tx,
    newDeliveries(message, endpointIds, TriggerType.Scheduled, dueAt, now),
  );
  return { queued: endpointIds.length, error: utf8 ? null : BINARY_BODY_ERROR, appId };
}

export interface RoutableEvent {
  id: InboundEventId;
  sourceId: SourceId;
  /** The provider's event type, as stored. */
  eventType: string | null;
  body: Buffer;
  /** The stored request's content type (how a projection parses the body). */
  contentType: string | undefined;
  /** The event's status and error now: only a change is written. */
  status: InboundEventStatus;
  error: string | null;
  /** The source's hidden application, when known (see `ForwardableEvent.appId`). */
  appId?: AppId;
}

export interface Routed {
  /** `failed` (mapping error), `routed` (deliveries queued) or `received` (no endpoint). */
  status: InboundEventStatus;
  queued: number;
  error: string | null;
  /** The source's hidden application, when forwarding ran (the mapping did not fail). */
  appId?: AppId;
}

/**
 * Maps a stored event with its source's mapping and forwards the result to the source's
 * endpoints, then records the outcome on the event — all on `tx`, so it commits with whatever
 * else the caller writes (the event itself on receipt; nothing else on replay). A mapping
 * failure is an outcome (`failed` with the error), never a throw. The caller wakes the
 * workers after the commit when `queued > 0`.
 */
export async function routeInboundEvent(
  ctx: ServiceContext,
  tx: Sql,
  event: RoutableEvent,
  mapping: StoredMapping,
  now: number,
): Promise<Routed> {
  const mapped = mapEvent(mapping, {
    eventType: event.eventType,
    body: event.body,
    contentType: event.contentType,
  });
  let routed: Routed;
  if (!mapped.ok) {
    routed = { status: 'failed', queued: 0, error: mapped.error };
  } else {
    const forwarded = await forwardInboundEvent(
      ctx,
      tx,
      {
        sourceId: event.sourceId,
        inboundEventId: event.id,
        eventType: mapped.eventType,
        body: mapped.body,
        appId: event.appId,
      },
      now,
    );
    routed =
      forwarded.queued > 0
        ? {
            status: 'routed',
            queued: forwarded.queued,
            error: forwarded.error,
            appId: forwarded.appId,
          }
        : { status: 'received', queued: 0, error: null, appId: forwarded.appId };
  }
  if (routed.status !== event.status || routed.error !== event.error) {
    await setInboundEventStatus(tx, event.id, routed.status, routed.error, now);
  }
  return routed;
}

/** The first value of a stored header (names are stored lower-case). */
export function headerOf(headers: StoredHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
