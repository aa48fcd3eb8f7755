import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import {
  type AppId,
  type DeliveryId,
  type EndpointId,
  hasPrefix,
  type IdKind,
  idTimestampMs,
  newId,
} from '../core/ids.js';
import type { DeliveryLease, ServiceContext } from '../platform/context.js';
import type { ApplicationRecord } from '../store/applications.js';
import { findApplicationCached } from '../store/applications.js';
import {
  type DeliveryRecord,
  insertDeliveries,
  MessageStatus,
  TriggerType,
} from '../store/deliveries.js';
import type { MessageRecord, WindowRequest } from '../store/messages.js';
import * as store from '../store/messages.js';
import type { Page } from '../store/pagination.js';
import { type Sql, UniqueViolation } from '../store/sql.js';
import { type ApplicationInput, checkUid, createApplication } from './applications.js';
import { firstAttemptDelayMs } from './retry-policy.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const DEFAULT_RETENTION_DAYS = 90;

export interface MessageInput {
  eventType: string;
  /** As received; must be a JSON object. */
  payload: unknown;
  eventId?: string | null;
  channels?: string[] | null;
  tags?: string[] | null;
  payloadRetentionPeriod?: number | null;
  payloadRetentionHours?: number | null;
  /** Epoch ms. */
  deliverAt?: number | null;
  /** Creates the application when `{app_id}` does not exist. */
  application?: ApplicationInput | null;
  transformationsParams?: Record<string, unknown> | null;
}

export interface CreatedMessage {
  message: MessageRecord;
  /** The payload as it should be shown (the request's object, or the raw payload). */
  payload: unknown;
  deliverAt: number | null;
  /** How many deliveries were queued. */
  deliveries: number;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Message payload text → the wire value: JSON when it parses, else the raw string. */
export function payloadValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The payload a reader may see: null once it has expired (or was removed). */
export function visiblePayload(message: MessageRecord, now: number): string | null {
  if (message.payloadExpiresAt !== null && message.payloadExpiresAt <= now) return null;
  return message.payload;
}

/** Everything that can be refused without I/O, so a refused create writes nothing. */
function validate(input: MessageInput): string | undefined {
  if (!isPlainObject(input.payload)) {
    throw ValidationError.at(['body', 'payload'], 'Payload must be an object.');
  }
  checkUid(input.eventId, 'msg_', ['body', 'eventId']);
  if (
    input.payloadRetentionPeriod !== undefined &&
    input.payloadRetentionPeriod !== null &&
    input.payloadRetentionHours !== undefined &&
    input.payloadRetentionHours !== null
  ) {
    throw ValidationError.at(
      ['body', 'payloadRetentionHours'],
      'payloadRetentionPeriod and payloadRetentionHours are mutually exclusive.',
    );
  }
  const raw = input.transformationsParams?.rawPayload;
  if (raw !== undefined && raw !== null && typeof raw !== 'string') {
    throw ValidationError.at(
      ['body', 'transformationsParams', 'rawPayload'],
      'rawPayload must be a string.',
    );
  }
  return raw ?? undefined;
}

/** Implicit application creation needs `application.uid` equal to the path's `{app_id}`. */
function checkImplicitApplication(appIdOrUid: string, app: ApplicationInput): void {
  const loc = ['body', 'application', 'uid'];
  if (!app.uid) {
    throw ValidationError.at(loc, 'Application UID not set in body', 'application_uid_missing');
  }
  if (app.uid !== appIdOrUid) {
    throw ValidationError.at(
      loc,
      'Application UID in the path and body must match',
      'application_uid_mismatch',
    );
  }
  checkUid(app.uid, 'app_', loc);
}

/**
 * The hot path. Reads (application, matching endpoints) happen first; then the message row and
 * one delivery per matching endpoint are written by one group-committed transaction, so
 * concurrent creates share a commit and the engine never sees a message without its
 * deliveries (or deliveries without their message).
 */
export async function createMessage(
  ctx: ServiceContext,
  appIdOrUid: string,
  input: MessageInput,
  options: { onlyEndpoint?: EndpointId } = {},
): Promise<CreatedMessage> {
  const raw = validate(input);
  const app = await findApplicationCached(ctx.db, appIdOrUid);
  const implicit = app ? undefined : (input.application ?? undefined);
  if (!app && !implicit) throw new NotFoundError('Application not found');
  if (implicit) checkImplicitApplication(appIdOrUid, implicit);
  const channels = input.channels ?? null;
  const matching = app
    ? await store.matchingEndpointIdsCached(ctx.db, app.id, input.eventType, channels)
    : [];
  // send-example: a real message, but only for the endpoint it was sent to (filters still apply).
  const endpointIds = options.onlyEndpoint
    ? matching.filter((id) => id === options.onlyEndpoint)
    : matching;
  const now = ctx.clock();
  const deliverAt = input.deliverAt ?? null;
  // SWITCHBOARD_RETRY_SCHEDULE's first value delays the first try (0 by default).
  const firstTry = now + firstAttemptDelayMs(ctx.config.retryScheduleSeconds);
  const dueAt = deliverAt !== null && deliverAt > firstTry ? deliverAt : firstTry;
  const retentionMs =
    input.payloadRetentionHours != null
      ? input.payloadRetentionHours * HOUR_MS
      : (input.payloadRetentionPeriod ?? DEFAULT_RETENTION_DAYS) * DAY_MS;
  const payloadText = raw ?? JSON.stringify(input.payload);
  const messageId = newId('message', now);
  // Due now and this process delivers: written already claimed, handed over after COMMIT.
  const lease =
    endpointIds.length > 0 && dueAt <= now
      ? ctx.handoff?.reserve(endpointIds.length, now)
      : undefined;
  let deliveries: DeliveryRecord[] = [];

  const message = await ctx.db
    .batch(async (tx) => {
      let appId: AppId;
      if (app) appId = app.id;
      else if (implicit) {
        // Created in the same transaction; a concurrent create of the same uid is reused.
        appId = (await createApplication(ctx, implicit, { getIfExists: true, sql: tx })).app.id;
      } else throw new NotFoundError('Application not found');
      const record: MessageRecord = {
        id: messageId,
        appId,
        eventId: input.eventId ?? null,
        eventType: input.eventType,
        payload: payloadText,
        channels,
        tags: input.tags ?? null,
        createdAt: now,
        payloadExpiresAt: now + retentionMs,
      };
      try {
        await store.insertMessage(tx, record);
      } catch (error) {
        if (error instanceof UniqueViolation) throw new ConflictError();
        throw error;
      }
      if (endpointIds.length > 0) {
        deliveries = newDeliveries(record, endpointIds, TriggerType.Scheduled, dueAt, now);
        if (lease) for (const delivery of deliveries) leased(delivery, lease);
        await insertDeliveries(tx, deliveries);
      }
      return record;
    })
    .catch((error: unknown) => {
      if (lease) ctx.handoff?.release(lease);
      throw error;
    });
  if (lease) ctx.handoff?.deliver(lease, deliveries, message);
  // Also for a later due time: an idle worker then shortens its sleep to it.
  else if (endpointIds.length > 0) ctx.queue.notify();
  return {
    message,
    payload: raw === undefined ? input.payload : payloadValue(raw),
    deliverAt,
    deliveries: endpointIds.length,
  };
}

/** A new delivery as the claim of `lease` would leave it. */
function leased(delivery: DeliveryRecord, lease: DeliveryLease): void {
  delivery.leasedBy = lease.worker;
  delivery.leaseUntil = lease.until;
  delivery.nextAttemptAt = lease.until;
}

export function newDeliveries(
  message: MessageRecord,
  endpointIds: readonly EndpointId[],
  triggerType: TriggerType,
  dueAt: number,
  now: number,
): DeliveryRecord[] {
  return endpointIds.map((endpointId) => ({
    id: newId('delivery', now) as DeliveryId,
    msgId: message.id,
    appId: message.appId,
    endpointId,
    status: MessageStatus.Pending,
    triggerType,
    attemptCount: 0,
    nextAttemptAt: dueAt,
    leaseUntil: null,
    leasedBy: null,
    createdAt: now,
    updatedAt: now,
  }));
}

/** A message of the application, by id or eventId; 404 otherwise. */
export async function requireMessage(
  sql: Sql,
  appId: AppId,
  idOrEventId: string,
  options: { withPayload?: boolean } = {},
): Promise<MessageRecord> {
  const message = await store.findMessage(sql, appId, idOrEventId, options);
  if (!message) throw new NotFoundError('Message not found');
  return message;
}

/** Iterators must be ids of the listed kind (`-` for the previous page). */
export function checkIterator(kind: IdKind, iterator: string | null | undefined): void {
  if (!iterator) return;
  const key = iterator.startsWith('-') ? iterator.slice(1) : iterator;
  if (!hasPrefix(kind, key) || idTimestampMs(key) === undefined) {
    throw ValidationError.at(['query', 'iterator'], 'Invalid iterator.');
  }
}

export interface ListWindow {
  limit: number;
  iterator?: string | null;
  before?: number;
  after?: number;
}

export function windowOf(ctx: ServiceContext, kind: IdKind, list: ListWindow): WindowRequest {
  checkIterator(kind, list.iterator);
  return { ...list, now: ctx.clock() };
}

export async function getMessage(
  ctx: ServiceContext,
  app: ApplicationRecord,
  idOrEventId: string,
  withContent: boolean,
): Promise<MessageRecord> {
  const message = await requireMessage(ctx.db, app.id, idOrEventId, { withPayload: withContent });
  return { ...message, payload: visiblePayload(message, ctx.clock()) };
}

export async function listMessages(
  ctx: ServiceContext,
  app: ApplicationRecord,
  filter: { channel?: string; tag?: string; eventTypes?: string[]; withContent: boolean },
  list: ListWindow,
): Promise<Page<MessageRecord>> {
  const window = windowOf(ctx, 'message', list);
  const page = await store.listMessages(
    ctx.db,
    app.id,
    {
      channel: filter.channel,
      tag: filter.tag,
      eventTypes: filter.eventTypes,
      withPayload: filter.withContent,
    },
    window,
  );
  return {
    ...page,
    data: page.data.map((m) => ({ ...m, payload: visiblePayload(m, window.now) })),
  };
}
