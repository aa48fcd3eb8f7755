import { Type } from '@sinclair/typebox';
import { toIso, toIsoOrNull } from '../../core/time.js';
import type { AttemptRecord } from '../../store/attempts.js';
import type { DeliveryState } from '../../store/deliveries.js';
import type { EndpointRecord } from '../../store/endpoints.js';
import type { MessageRecord } from '../../store/messages.js';
import { Channel, DateTime, ListQuery, Nullable } from './common.js';
import {
  MessageOut,
  MessageStatusSchema,
  MessageStatusText,
  statusText,
  Tag,
  toMessageOut,
  wireStatus,
} from './messages.js';

export const MessageAttemptOut = Type.Object(
  {
    id: Type.String({ examples: ['atmpt_1srOrx2ZWZBpBUvZwXKQmoEYga2'] }),
    msgId: Type.String(),
    endpointId: Type.String(),
    url: Type.String(),
    response: Type.String(),
    responseStatusCode: Type.Integer(),
    responseDurationMs: Type.Integer(),
    status: MessageStatusSchema,
    statusText: MessageStatusText,
    triggerType: Type.Integer({ minimum: 0, maximum: 1, description: '0 scheduled, 1 manual' }),
    timestamp: DateTime,
    msg: Type.Optional(Nullable(MessageOut)),
  },
  { title: 'MessageAttemptOut' },
);

export const MessageEndpointOut = Type.Object(
  {
    id: Type.String(),
    uid: Nullable(Type.String()),
    url: Type.String(),
    description: Type.String(),
    throttleRate: Nullable(Type.Integer()),
    disabled: Type.Boolean(),
    eventTypes: Nullable(Type.Array(Type.String())),
    channels: Nullable(Type.Array(Type.String())),
    createdAt: DateTime,
    updatedAt: DateTime,
    status: MessageStatusSchema,
    statusText: MessageStatusText,
    nextAttempt: Nullable(DateTime),
  },
  { title: 'MessageEndpointOut' },
);

export function toAttemptOut(
  attempt: AttemptRecord,
  options: { withContent: boolean; expanded: boolean; msg?: MessageRecord | null },
) {
  const status = wireStatus(attempt.status, options.expanded);
  return {
    id: attempt.id,
    msgId: attempt.msgId,
    endpointId: attempt.endpointId,
    url: attempt.url,
    response: options.withContent ? attempt.response : '{}',
    responseStatusCode: attempt.responseStatusCode,
    responseDurationMs: attempt.responseDurationMs,
    status,
    statusText: statusText(status),
    triggerType: attempt.triggerType,
    timestamp: toIso(attempt.createdAt),
    ...(options.msg === undefined
      ? {}
      : { msg: options.msg === null ? null : toMessageOut(options.msg, false) }),
  };
}

/** The next attempt is only meaningful while the delivery is still pending or retrying. */
function nextAttemptOf(delivery: DeliveryState): string | null {
  return delivery.status === 1 || delivery.status === 3
    ? toIsoOrNull(delivery.nextAttemptAt)
    : null;
}

export function toMessageEndpointOut(endpoint: EndpointRecord, delivery: DeliveryState) {
  const status = wireStatus(delivery.status, true);
  return {
    id: endpoint.id,
    uid: endpoint.uid,
    url: endpoint.url,
    description: endpoint.description,
    throttleRate: endpoint.throttleRate,
    disabled: endpoint.disabled,
    eventTypes: endpoint.eventTypes,
    channels: endpoint.channels,
    createdAt: toIso(endpoint.createdAt),
    updatedAt: toIso(endpoint.updatedAt),
    status,
    statusText: statusText(status),
    nextAttempt: nextAttemptOf(delivery),
  };
}

export function toEndpointMessageOut(
  message: MessageRecord,
  delivery: DeliveryState,
  options: { withContent: boolean; expanded: boolean },
) {
  const status = wireStatus(delivery.status, options.expanded);
  return {
    ...toMessageOut(message, options.withContent),
    status,
    statusText: statusText(status),
    nextAttempt: nextAttemptOf(delivery),
  };
}

const attemptFilters = {
  status: Type.Optional(MessageStatusSchema),
  channel: Type.Optional(Channel),
  tag: Type.Optional(Tag),
  before: Type.Optional(DateTime),
  after: Type.Optional(DateTime),
  with_content: Type.Optional(Type.Boolean({ default: true })),
  expanded_statuses: Type.Optional(Type.Boolean({ default: false })),
  event_types: Type.Optional(Type.Array(Type.String())),
  'event_types[]': Type.Optional(Type.Array(Type.String())),
};

const StatusCodeClass = Type.Integer({
  minimum: 0,
  maximum: 500,
  multipleOf: 100,
  description: '0 (no response), 100, 200, 300, 400 or 500',
});

export const AttemptsByEndpointQuery = Type.Object({
  ...ListQuery,
  ...attemptFilters,
  status_code_class: Type.Optional(StatusCodeClass),
  with_msg: Type.Optional(Type.Boolean({ default: false })),
});

export const AttemptsByMessageQuery = Type.Object({
  ...ListQuery,
  ...attemptFilters,
  status_code_class: Type.Optional(StatusCodeClass),
  endpoint_id: Type.Optional(Type.String({ minLength: 1 })),
});

export const AttemptedMessagesQuery = Type.Object({ ...ListQuery, ...attemptFilters });

export const AttemptGetQuery = Type.Object({
  expanded_statuses: Type.Optional(Type.Boolean({ default: false })),
});

export const AttemptedDestinationsQuery = Type.Object({
  limit: ListQuery.limit,
  iterator: ListQuery.iterator,
});
