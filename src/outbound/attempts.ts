import { BadRequestError, NotFoundError } from '../core/errors.js';
import type { ServiceContext } from '../platform/context.js';
import type { ApplicationRecord } from '../store/applications.js';
import type { AttemptRecord, AttemptWithMessage } from '../store/attempts.js';
import * as attempts from '../store/attempts.js';
import * as deliveries from '../store/deliveries.js';
import { type DeliveryState, MessageStatus, TriggerType } from '../store/deliveries.js';
import type { EndpointRecord } from '../store/endpoints.js';
import type { MessageRecord } from '../store/messages.js';
import type { Page } from '../store/pagination.js';
import { requireEndpoint } from './endpoints.js';
import {
  checkIterator,
  type ListWindow,
  newDeliveries,
  requireMessage,
  visiblePayload,
  windowOf,
} from './messages.js';

export interface AttemptFilter {
  status?: MessageStatus;
  statusCodeClass?: number;
  channel?: string;
  tag?: string;
  eventTypes?: string[];
  withContent: boolean;
  withMsg?: boolean;
  /** Report canceled (4) as such; otherwise as success (0), as Svix does for old clients. */
  expandedStatuses: boolean;
}

/** Without expanded statuses canceled reads as success, so `status=0` also finds canceled. */
function statusesFor(
  status: MessageStatus | undefined,
  expanded: boolean,
): MessageStatus[] | undefined {
  if (status === undefined) return undefined;
  if (!expanded && status === MessageStatus.Success) {
    return [MessageStatus.Success, MessageStatus.Canceled];
  }
  return [status];
}

function listFilter(app: ApplicationRecord, filter: AttemptFilter): attempts.AttemptListFilter {
  return {
    appId: app.id,
    statuses: statusesFor(filter.status, filter.expandedStatuses),
    statusCodeClass: filter.statusCodeClass,
    message: { channel: filter.channel, tag: filter.tag, eventTypes: filter.eventTypes },
    withResponse: filter.withContent,
    withMsg: filter.withMsg,
  };
}

export async function listAttemptsByEndpoint(
  ctx: ServiceContext,
  app: ApplicationRecord,
  endpointIdOrUid: string,
  filter: AttemptFilter,
  list: ListWindow,
): Promise<Page<AttemptWithMessage>> {
  const endpoint = await requireEndpoint(ctx.db, app.id, endpointIdOrUid);
  const window = windowOf(ctx, 'attempt', list);
  return attempts.listAttempts(
    ctx.db,
    { ...listFilter(app, filter), endpointId: endpoint.id },
    window,
  );
}

export async function listAttemptsByMessage(
  ctx: ServiceContext,
  app: ApplicationRecord,
  msgIdOrEventId: string,
  filter: AttemptFilter & { endpointId?: string },
  list: ListWindow,
): Promise<Page<AttemptWithMessage>> {
  const message = await requireMessage(ctx.db, app.id, msgIdOrEventId, { withPayload: false });
  const endpoint =
    filter.endpointId === undefined
      ? undefined
      : await requireEndpoint(ctx.db, app.id, filter.endpointId);
  const window = windowOf(ctx, 'attempt', list);
  return attempts.listAttempts(
    ctx.db,
    { ...listFilter(app, filter), withMsg: false, msgId: message.id, endpointId: endpoint?.id },
    window,
  );
}

export async function getAttempt(
  ctx: ServiceContext,
  app: ApplicationRecord,
  msgIdOrEventId: string,
  attemptId: string,
): Promise<AttemptRecord> {
  const message = await requireMessage(ctx.db, app.id, msgIdOrEventId, { withPayload: false });
  const attempt = await attempts.findAttempt(ctx.db, message.id, attemptId);
  if (!attempt) throw new NotFoundError('Message attempt not found');
  return attempt;
}

export async function listAttemptedDestinations(
  ctx: ServiceContext,
  app: ApplicationRecord,
  msgIdOrEventId: string,
  list: { limit: number; iterator?: string | null },
): Promise<Page<{ endpoint: EndpointRecord; delivery: DeliveryState }>> {
  const message = await requireMessage(ctx.db, app.id, msgIdOrEventId, { withPayload: false });
  checkIterator('endpoint', list.iterator);
  return deliveries.listAttemptedDestinations(ctx.db, message.id, { ...list, order: 'asc' });
}

export async function listAttemptedMessages(
  ctx: ServiceContext,
  app: ApplicationRecord,
  endpointIdOrUid: string,
  filter: Omit<AttemptFilter, 'statusCodeClass' | 'withMsg'>,
  list: ListWindow,
): Promise<Page<{ message: MessageRecord; delivery: DeliveryState }>> {
  const endpoint = await requireEndpoint(ctx.db, app.id, endpointIdOrUid);
  const window = windowOf(ctx, 'message', list);
  const page = await deliveries.listAttemptedMessages(
    ctx.db,
    endpoint.id,
    {
      channel: filter.channel,
      tag: filter.tag,
      eventTypes: filter.eventTypes,
      statuses: statusesFor(filter.status, filter.expandedStatuses),
      withPayload: filter.withContent,
    },
    window,
  );
  return {
    ...page,
    data: page.data.map((item) => ({
      ...item,
      message: { ...item.message, payload: visiblePayload(item.message, window.now) },
    })),
  };
}

/**
 * Queues the message again for one endpoint (a Manual delivery, due now), whatever the
 * endpoint's filters say. A disabled endpoint is skipped silently, as Svix does.
 */
export async function resendMessage(
  ctx: ServiceContext,
  app: ApplicationRecord,
  msgIdOrEventId: string,
  endpointIdOrUid: string,
): Promise<void> {
  const message = await requireMessage(ctx.db, app.id, msgIdOrEventId, { withPayload: true });
  const endpoint = await requireEndpoint(ctx.db, app.id, endpointIdOrUid);
  const now = ctx.clock();
  if (visiblePayload(message, now) === null) {
    throw new BadRequestError(
      'missing_payload',
      'Unable to resend message. Payload is missing (probably expired).',
    );
  }
  if (endpoint.disabled) return;
  await ctx.db.batch((tx) =>
    deliveries.insertDeliveries(
      tx,
      newDeliveries(message, [endpoint.id], TriggerType.Manual, now, now),
    ),
  );
  ctx.queue.notify();
}
