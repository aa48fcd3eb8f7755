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
function validate(input: MessageInput, at: Loc): string | undefined {
  if (!isPlainObject(input.payload)) {
    throw ValidationError.at([...at, 'payload'], 'Payload must be an object.');
  }
  checkUid(input.eventId, 'msg_', [...at, 'eventId']);
  if (
    input.payloadRetentionPeriod !== undefined &&
    input.payloadRetentionPeriod !== null &&
    input.payloadRetentionHours !== undefined &&
    input.payloadRetentionHours !== null
  ) {
    throw ValidationError.at(
      [...at, 'payloadRetentionHours'],
      'payloadRetentionPeriod and payloadRetentionHours are mutually exclusive.',
    );
  }
  const raw = input.transformationsParams?.rawPayload;
  if (raw !== undefined && raw !== null && typeof raw !== 'string') {
    throw ValidationError.at(
      [...at, 'transformationsParams', 'rawPayload'],
      'rawPayload must be a string.',
    );
  }
  return raw ?? undefined;
}

/** Where a message's fields are in the request: `body` alone, or `body.messages.{i}`. */
type Loc = (string | number)[];

/** Implicit application creation needs `application.uid` equal to the path's `{app_id}`. */
function checkImplicitApplication(appIdOrUid: string, app: ApplicationInput, at: Loc): void {
  const loc = [...at, 'application', 'uid'];
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
  const [created] = await writeMessages(ctx, appIdOrUid, [input], false, options);
  return created;
}

/** Most messages one batch create takes. */
export const MESSAGE_BATCH_MAX = 500;

/**
 * Several messages of one application in one transaction (`POST …/msg/batch`, beyond Svix):
 * all are stored, or none is (a refused one names its index). Each is routed and delivered
 * exactly as if it had been created alone.
 */
export async function createMessages(
  ctx: ServiceContext,
  appIdOrUid: string,
  inputs: readonly MessageInput[],
): Promise<CreatedMessage[]> {
  if (inputs.length === 0 || inputs.length > MESSAGE_BATCH_MAX) {
    throw ValidationError.at(
      ['body', 'messages'],
      `Between 1 and ${MESSAGE_BATCH_MAX} messages are accepted at once.`,
    );
  }
  const seen = new Map<string, number>();
  inputs.forEach((input, index) => {
    if (input.eventId === undefined || input.eventId === null) return;
    const first = seen.get(input.eventId);
    if (first !== undefined) {
      throw ValidationError.at(
        ['body', 'messages', index, 'eventId'],
        `Same eventId as messages[${first}].`,
      );
    }
    seen.set(input.eventId, index);
  });
  return writeMessages(ctx, appIdOrUid, inputs, true);
}

/** A message about to be written: its row, its deliveries, and the engine slots they hold. */
interface PlannedMessage {
  record: MessageRecord;
  raw: string | undefined;
  /** One per matching endpoint, already under `lease` when there is one. */
  deliveries: DeliveryRecord[];
  lease: DeliveryLease | undefined;
}

/**
 * What `createMessage` and `createMessages` share. A batch's inputs are at
 * `body.messages.{index}` in the request, a single message's at `body`.
 */
async function writeMessages(
  ctx: ServiceContext,
  appIdOrUid: string,
  inputs: readonly MessageInput[],
  batched: boolean,
  options: { onlyEndpoint?: EndpointId } = {},
): Promise<CreatedMessage[]> {
  const locOf = (index: number): Loc => (batched ? ['body', 'messages', index] : ['body']);
  const raws = inputs.map((input, index) => validate(input, locOf(index)));
  const app = await findApplicationCached(ctx.db, appIdOrUid);
  let implicit: ApplicationInput | undefined;
  if (!app) {
    inputs.forEach((input, index) => {
      if (!input.application) return;
      checkImplicitApplication(appIdOrUid, input.application, locOf(index));
      implicit ??= input.application;
    });
    if (!implicit) throw new NotFoundError('Application not found');
  }
  const now = ctx.clock();
  // SWITCHBOARD_RETRY_SCHEDULE's first value delays the first try (0 by default).
  const firstTry = now + firstAttemptDelayMs(ctx.config.retryScheduleSeconds);
  const planned: PlannedMessage[] = [];
  for (let index = 0; index < inputs.length; index++) {
    const input = inputs[index];
    const channels = input.channels ?? null;
    const matching = app
      ? await store.matchingEndpointIdsCached(ctx.db, app.id, input.eventType, channels)
      : [];
    // send-example: a real message, but only for the endpoint it was sent to (filters apply).
    const endpointIds = options.onlyEndpoint
      ? matching.filter((id) => id === options.onlyEndpoint)
      : matching;
    const deliverAt = input.deliverAt ?? null;
    const dueAt = deliverAt !== null && deliverAt > firstTry ? deliverAt : firstTry;
    const retentionMs =
      input.payloadRetentionHours != null
        ? input.payloadRetentionHours * HOUR_MS
        : (input.payloadRetentionPeriod ?? DEFAULT_RETENTION_DAYS) * DAY_MS;
    const raw = raws[index];
    const record: MessageRecord = {
      id: newId('message', now),
      // Replaced by the implicit application's id once it exists (in the transaction).
      appId: app ? app.id : ('' as AppId),
      eventId: input.eventId ?? null,
      eventType: input.eventType,
      payload: raw ?? JSON.stringify(input.payload),
      channels,
      tags: input.tags ?? null,
      createdAt: now,
      payloadExpiresAt: now + retentionMs,
    };
    // Due now and this process delivers: written already claimed, handed over after COMMIT.
    const lease =
      endpointIds.length > 0 && dueAt <= now
        ? ctx.handoff?.reserve(endpointIds.length, now)
        : undefined;
    const deliveries = newDeliveries(record, endpointIds, TriggerType.Scheduled, dueAt, now);
    if (lease) for (const delivery of deliveries) leased(delivery, lease);
    planned.push({ record, raw, deliveries, lease });
  }

  try {
    await ctx.db.batch(async (tx) => {
      if (implicit) {
        // Created in the same transaction; a concurrent create of the same uid is reused.
        const appId = (await createApplication(ctx, implicit, { getIfExists: true, sql: tx })).app
          .id;
        for (const { record, deliveries } of planned) {
          record.appId = appId;
          for (const delivery of deliveries) delivery.appId = appId;
        }
      }
      if (batched) await refuseTakenEventIds(tx, planned, locOf);
      try {
        await store.insertMessages(
          tx,
          planned.map((message) => message.record),
        );
      } catch (error) {
        if (error instanceof UniqueViolation) throw new ConflictError();
        throw error;
      }
      const deliveries = planned.flatMap((message) => message.deliveries);
      if (deliveries.length > 0) await insertDeliveries(tx, deliveries);
    });
  } catch (error) {
    for (const { lease } of planned) if (lease) ctx.handoff?.release(lease);
    throw error;
  }
  let unleased = false;
  for (const { record, deliveries, lease } of planned) {
    if (lease) ctx.handoff?.deliver(lease, deliveries, record);
    else if (deliveries.length > 0) unleased = true;
  }
  // Also for a later due time: an idle worker then shortens its sleep to it.
  if (unleased) ctx.queue.notify();
  return planned.map(({ record, raw, deliveries }, index) => ({
    message: record,
    payload: raw === undefined ? inputs[index].payload : payloadValue(raw),
    deliverAt: inputs[index].deliverAt ?? null,
    deliveries: deliveries.length,
  }));
}

/** A batch's eventIds already taken by the application: a 409 naming the first of them. */
async function refuseTakenEventIds(
  tx: Sql,
  planned: readonly PlannedMessage[],
  locOf: (index: number) => Loc,
): Promise<void> {
  const eventIds = planned.flatMap(({ record }) =>
    record.eventId === null ? [] : [record.eventId],
  );
  if (eventIds.length === 0) return;
  const taken = await store.takenEventIds(tx, planned[0].record.appId, eventIds);
  const index = planned.findIndex(
    ({ record }) => record.eventId !== null && taken.has(record.eventId),
  );
  if (index >= 0) {
    throw new ConflictError(
      `${locOf(index).join('.')}: the application already has a message with eventId "${planned[index].record.eventId}".`,
    );
  }
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
