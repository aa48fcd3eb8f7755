import { BadRequestError, NotFoundError, ValidationError } from '../core/errors.js';
import { type AppId, type DeliveryId, type EndpointId, newId } from '../core/ids.js';
import type { ServiceContext } from '../platform/context.js';
import {
  type DeliveryRecord,
  insertDeliveries,
  MessageStatus,
  TriggerType,
} from '../store/deliveries.js';
import type { EndpointRecord } from '../store/endpoints.js';
import * as store from '../store/recovery.js';
import { requireEndpoint } from './endpoints.js';
import { requireEventType } from './event-types.js';
import { type CreatedMessage, createMessage } from './messages.js';

const DAY_MS = 86_400_000;
/** Svix's limits: recover looks back at most 14 days and re-sends at most 10 000 messages. */
const MAX_RECOVER_MS = 14 * DAY_MS + 5 * 60_000;
const MAX_MESSAGES = 10_000;

export interface TaskOut {
  id: string;
  status: 'finished';
  task: 'endpoint.recover' | 'endpoint.replay';
  updatedAt: number;
  /** How many messages were queued (a Switchboard extension of Svix's task shape). */
  queued: number;
}

function windowOf(ctx: ServiceContext, since: number, until: number | null | undefined) {
  const now = ctx.clock();
  const end = until ?? now;
  if (end < since)
    throw ValidationError.at(['body', 'until'], "'until' must not be before 'since'");
  return { since, until: end, now };
}

function queue(ctx: ServiceContext, deliveries: DeliveryRecord[]): Promise<void> {
  if (deliveries.length === 0) return Promise.resolve();
  return ctx.db.batch((tx) => insertDeliveries(tx, deliveries)).then(() => ctx.queue.notify());
}

function delivery(
  appId: AppId,
  endpointId: EndpointId,
  msgId: DeliveryRecord['msgId'],
  trigger: DeliveryRecord['triggerType'],
  now: number,
): DeliveryRecord {
  return {
    id: newId('delivery', now) as DeliveryId,
    msgId,
    appId,
    endpointId,
    status: MessageStatus.Pending,
    triggerType: trigger,
    attemptCount: 0,
    nextAttemptAt: now,
    leaseUntil: null,
    leasedBy: null,
    createdAt: now,
    updatedAt: now,
  };
}

async function enabledEndpoint(
  ctx: ServiceContext,
  appId: AppId,
  idOrUid: string,
): Promise<EndpointRecord> {
  const endpoint = await requireEndpoint(ctx.db, appId, idOrUid);
  if (endpoint.disabled) {
    throw new BadRequestError('endpoint_disabled', 'The endpoint is disabled; enable it first.');
  }
  return endpoint;
}

/**
 * Re-sends (as manual attempts) every message whose delivery to the endpoint failed for good
 * and never succeeded, created in `[since, until]`. Done within the request: it is a bounded
 * insert, and the answer can then say how many were queued.
 */
export async function recoverEndpoint(
  ctx: ServiceContext,
  appId: AppId,
  endpointIdOrUid: string,
  since: number,
  until?: number | null,
): Promise<TaskOut> {
  const window = windowOf(ctx, since, until);
  if (window.until - since > MAX_RECOVER_MS) {
    throw ValidationError.at(['body', 'since'], 'Cannot recover more than 14 days of messages');
  }
  const endpoint = await enabledEndpoint(ctx, appId, endpointIdOrUid);
  const ids = await store.failedMessageIds(ctx.db, endpoint.id, window, MAX_MESSAGES);
  await queue(
    ctx,
    ids.map((msgId) => delivery(appId, endpoint.id, msgId, TriggerType.Manual, window.now)),
  );
  return {
    id: newId('task', window.now),
    status: 'finished',
    task: 'endpoint.recover',
    updatedAt: window.now,
    queued: ids.length,
  };
}

/**
 * Queues, as normal scheduled deliveries, the messages of `[since, until]` that the endpoint
 * would receive today (event-type and channel filters) but was never sent — e.g. messages
 * created before the endpoint existed, or while it was disabled.
 */
export async function replayMissing(
  ctx: ServiceContext,
  appId: AppId,
  endpointIdOrUid: string,
  since: number,
  until?: number | null,
): Promise<TaskOut> {
  const window = windowOf(ctx, since, until);
  const endpoint = await enabledEndpoint(ctx, appId, endpointIdOrUid);
  const candidates = await store.messagesNeverSentTo(
    ctx.db,
    appId,
    endpoint.id,
    window,
    MAX_MESSAGES,
  );
  const wanted = candidates.filter((message) => {
    if (message.payloadExpiresAt !== null && message.payloadExpiresAt <= window.now) return false;
    if (endpoint.eventTypes && !endpoint.eventTypes.includes(message.eventType)) return false;
    if (endpoint.channels) {
      return message.channels?.some((channel) => endpoint.channels?.includes(channel)) ?? false;
    }
    return true;
  });
  await queue(
    ctx,
    wanted.map((message) =>
      delivery(appId, endpoint.id, message.id, TriggerType.Scheduled, window.now),
    ),
  );
  return {
    id: newId('task', window.now),
    status: 'finished',
    task: 'endpoint.replay',
    updatedAt: window.now,
    queued: wanted.length,
  };
}

/** The "send test event" of the ecosystem seed: Svix's send-example, `svix.ping` included. */
export async function sendExample(
  ctx: ServiceContext,
  appId: AppId,
  endpointIdOrUid: string,
  eventType: string,
  exampleIndex = 0,
): Promise<CreatedMessage> {
  const endpoint = await requireEndpoint(ctx.db, appId, endpointIdOrUid);
  let payload: unknown;
  if (eventType === 'svix.ping') {
    payload = { success: true };
  } else {
    const type = await requireEventType(ctx.db, eventType).catch(() => {
      throw new NotFoundError('Event type not found');
    });
    const schema = type.schemas?.['1'] as { examples?: unknown[] } | undefined;
    payload = schema?.examples?.[exampleIndex];
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      throw new BadRequestError(
        'invalid_scheme',
        'Unable to generate example message from event-type schema',
      );
    }
  }
  return createMessage(ctx, appId, { eventType, payload }, { onlyEndpoint: endpoint.id });
}

export interface EndpointStatsOut {
  success: number;
  pending: number;
  sending: number;
  fail: number;
  canceled: number;
}

function statsWindow(ctx: ServiceContext, since?: number, until?: number) {
  const now = ctx.clock();
  const end = until ?? now;
  if (end > now + 60_000)
    throw new BadRequestError('invalid_range', "'until' cannot be in the future");
  const start = since ?? end - 28 * DAY_MS;
  if (start > end) throw new BadRequestError('invalid_range', "'since' must be before 'until'");
  return { since: start, until: end };
}

/** Svix's endpoint stats: attempts by outcome in the window, plus what is still in flight. */
export async function endpointStats(
  ctx: ServiceContext,
  appId: AppId,
  endpointIdOrUid: string,
  since?: number,
  until?: number,
): Promise<EndpointStatsOut> {
  const endpoint = await requireEndpoint(ctx.db, appId, endpointIdOrUid);
  const window = statsWindow(ctx, since, until);
  const [attempts, open] = await Promise.all([
    store.attemptCountsOfEndpoint(ctx.db, endpoint.id, window),
    store.openDeliveryCounts(ctx.db, endpoint.id),
  ]);
  return {
    success: attempts.success,
    fail: attempts.fail,
    pending: open.pending,
    sending: open.sending,
    canceled: 0,
  };
}

export interface ApplicationStatsOut {
  since: number;
  until: number;
  messages: number;
  attempts: number;
  successes: number;
  failures: number;
  /** Successful attempts / attempts, 0..1; null when there were no attempts. */
  successRate: number | null;
  averageLatencyMs: number | null;
  byEventType: {
    eventType: string;
    attempts: number;
    successes: number;
    failures: number;
    successRate: number | null;
    averageLatencyMs: number | null;
  }[];
}

/** Per-customer delivery stats over a period, as the ecosystem seed reported them. */
export async function applicationStats(
  ctx: ServiceContext,
  appId: AppId,
  since?: number,
  until?: number,
): Promise<ApplicationStatsOut> {
  const window = statsWindow(ctx, since, until);
  const { messages, byEventType } = await store.attemptStatsOfApplication(ctx.db, appId, window);
  const rate = (ok: number, all: number) => (all === 0 ? null : ok / all);
  const mean = (total: number, all: number) => (all === 0 ? null : Math.round(total / all));
  const attempts = byEventType.reduce((sum, row) => sum + row.attempts, 0);
  const successes = byEventType.reduce((sum, row) => sum + row.successes, 0);
  const duration = byEventType.reduce((sum, row) => sum + row.totalDurationMs, 0);
  return {
    ...window,
    messages,
    attempts,
    successes,
    failures: attempts - successes,
    successRate: rate(successes, attempts),
    averageLatencyMs: mean(duration, attempts),
    byEventType: byEventType.map((row) => ({
      eventType: row.eventType,
      attempts: row.attempts,
      successes: row.successes,
      failures: row.failures,
      successRate: rate(row.successes, row.attempts),
      averageLatencyMs: mean(row.totalDurationMs, row.attempts),
    })),
  };
}
