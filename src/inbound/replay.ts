import { NotFoundError } from '../core/errors.js';
import type { ServiceContext } from '../platform/context.js';
import {
  findInboundEvent,
  type InboundEventDestination,
  type InboundEventFilter,
  type InboundEventId,
  type InboundEventRecord,
  type InboundEventStatus,
  type InboundEventSummary,
  listInboundEventDestinations,
  listInboundEventIds,
  listInboundEvents,
} from '../store/inbound-events.js';
import type { Page, PageRequest } from '../store/pagination.js';
import type { SourceId } from '../store/sources.js';
import type { Sql } from '../store/sql.js';
import { headerOf, type Routed, routeInboundEvent } from './forwarding.js';
import { type StoredMapping, storedMapping } from './mappings.js';
import { requireSource } from './sources.js';

/** Statuses a bulk replay covers when its filter names none: everything but duplicates. */
export const DEFAULT_REPLAY_STATUSES: readonly InboundEventStatus[] = [
  'received',
  'routed',
  'failed',
  'dead-lettered',
];
export const DEFAULT_REPLAY_LIMIT = 1000;
export const MAX_REPLAY_LIMIT = 10_000;
/** Events replayed per transaction in a bulk replay (bounded memory, short transactions). */
const PAGE_SIZE = 100;

function routable(event: InboundEventRecord) {
  return {
    id: event.id,
    sourceId: event.sourceId,
    eventType: event.eventType,
    body: event.body,
    contentType: headerOf(event.headers, 'content-type'),
    status: event.status,
    error: event.error,
  };
}

async function replayOne(
  ctx: ServiceContext,
  tx: Sql,
  sourceId: SourceId,
  eventId: string,
  mapping: StoredMapping,
): Promise<Routed | undefined> {
  const event = await findInboundEvent(tx, sourceId, eventId);
  if (!event) return undefined;
  // A replay is a fresh routing with the whole retry schedule (not a one-shot manual resend):
  // replaying after an outage must not lose the event to one more failed attempt, and a
  // destination that gives up again dead-letters the event again.
  return routeInboundEvent(ctx, tx, routable(event), mapping, ctx.clock());
}

/**
 * Replays one stored event: maps it with the source's current mapping and forwards it to the
 * source's current endpoints (a new message, linked to the event, on the full retry schedule), in
 * one transaction, and records the outcome on the event. Any status may be replayed this way,
 * `duplicate` included (the caller named the event). 404 for an unknown source or event.
 */
export async function replayEvent(
  ctx: ServiceContext,
  sourceIdOrUid: string,
  eventId: string,
): Promise<Routed> {
  const result = await ctx.db.transaction(async (tx) => {
    const source = await requireSource(tx, sourceIdOrUid);
    return replayOne(ctx, tx, source.id, eventId, storedMapping(source));
  });
  if (!result) throw new NotFoundError('Event not found');
  if (result.queued > 0) ctx.queue.notify();
  return result;
}

export interface ReplayFilter {
  /** Statuses to replay; default every status but `duplicate`. */
  status?: InboundEventStatus[];
  /** The provider's event type, exactly. */
  eventType?: string;
  /** Received at or after (epoch ms). */
  since?: number;
  /** Received before (epoch ms). */
  until?: number;
  /** At most this many events (default 1000, at most 10 000). */
  limit?: number;
}

export interface BulkReplayResult {
  /** Events replayed. */
  matched: number;
  /** Deliveries queued, over all of them. */
  queued: number;
  /** Events whose mapping failed (now `failed`). */
  failed: number;
}

/**
 * Replays a source's events matching `filter`, oldest first, a page per transaction (memory
 * stays bounded, and each page commits on its own: an interruption keeps what was done).
 * Events received after the call started are left alone. Workers are woken after each commit
 * that queued something.
 */
export async function replayEvents(
  ctx: ServiceContext,
  sourceIdOrUid: string,
  filter: ReplayFilter,
): Promise<BulkReplayResult> {
  const source = await requireSource(ctx.db, sourceIdOrUid);
  const mapping = storedMapping(source);
  const limit = Math.min(filter.limit ?? DEFAULT_REPLAY_LIMIT, MAX_REPLAY_LIMIT);
  const startedAt = ctx.clock();
  const statuses =
    filter.status && filter.status.length > 0
      ? [...new Set(filter.status)]
      : DEFAULT_REPLAY_STATUSES;
  const until = Math.min(filter.until ?? Number.POSITIVE_INFINITY, startedAt + 1);
  const result: BulkReplayResult = { matched: 0, queued: 0, failed: 0 };
  let cursor: InboundEventId | null = null;
  while (result.matched < limit) {
    const want = Math.min(PAGE_SIZE, limit - result.matched);
    const page = await ctx.db.transaction(async (tx) => {
      const ids = await listInboundEventIds(
        tx,
        source.id,
        { statuses, eventType: filter.eventType, since: filter.since, until },
        cursor,
        want,
      );
      const counts = { matched: 0, queued: 0, failed: 0 };
      for (const id of ids) {
        const routed = await replayOne(ctx, tx, source.id, id, mapping);
        if (!routed) continue;
        counts.matched += 1;
        counts.queued += routed.queued;
        if (routed.status === 'failed') counts.failed += 1;
      }
      return { ids, counts };
    });
    result.matched += page.counts.matched;
    result.queued += page.counts.queued;
    result.failed += page.counts.failed;
    if (page.counts.queued > 0) ctx.queue.notify();
    if (page.ids.length < want) break;
    cursor = page.ids[page.ids.length - 1];
  }
  return result;
}

// --- the event log: an event with what happened to it at each destination ---

/** One event with its raw request and every delivery of its forwardings (404s as usual). */
export async function getEventWithDestinations(
  ctx: ServiceContext,
  sourceIdOrUid: string,
  eventId: string,
): Promise<{
  event: InboundEventRecord & { bodySize: number };
  destinations: InboundEventDestination[];
}> {
  const source = await requireSource(ctx.db, sourceIdOrUid);
  const event = await findInboundEvent(ctx.db, source.id, eventId);
  if (!event) throw new NotFoundError('Event not found');
  return { event, destinations: await listInboundEventDestinations(ctx.db, event.id) };
}

/** A source's events, filtered by status(es), provider event type and receive time. */
export async function listEvents(
  ctx: ServiceContext,
  sourceIdOrUid: string,
  request: PageRequest & InboundEventFilter,
): Promise<Page<InboundEventSummary>> {
  const source = await requireSource(ctx.db, sourceIdOrUid);
  return listInboundEvents(ctx.db, source.id, request);
}
