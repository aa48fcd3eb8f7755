import { Type } from '@sinclair/typebox';
import { toIso, toIsoOrNull } from '../../core/time.js';
import { payloadValue } from '../../outbound/messages.js';
import type { MessageRecord } from '../../store/messages.js';
import { ApplicationIn } from './applications.js';
import { Channel, DateTime, EventTypeName, ListQuery, Nullable, Uid } from './common.js';

export const Tag = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[a-zA-Z0-9\\-_./\\\\#]+$',
});

export const MessageIn = Type.Object(
  {
    eventType: EventTypeName,
    payload: Type.Unknown({ description: 'A JSON object: the webhook body.' }),
    eventId: Type.Optional(Nullable(Uid)),
    channels: Type.Optional(
      Nullable(Type.Array(Channel, { minItems: 1, maxItems: 10, uniqueItems: true })),
    ),
    tags: Type.Optional(Nullable(Type.Array(Tag, { maxItems: 5, uniqueItems: true }))),
    payloadRetentionPeriod: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 90 }))),
    payloadRetentionHours: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 2160 }))),
    deliverAt: Type.Optional(Nullable(DateTime)),
    application: Type.Optional(Nullable(ApplicationIn)),
    transformationsParams: Type.Optional(
      Nullable(
        Type.Object(
          { rawPayload: Type.Optional(Nullable(Type.String())) },
          { additionalProperties: true },
        ),
      ),
    ),
  },
  { title: 'MessageIn' },
);

const messageOutFields = {
  id: Type.String({ examples: ['msg_1srOrx2ZWZBpBUvZwXKQmoEYga2'] }),
  eventId: Nullable(Type.String()),
  eventType: Type.String(),
  payload: Type.Unknown(),
  channels: Nullable(Type.Array(Type.String())),
  tags: Nullable(Type.Array(Type.String())),
  timestamp: DateTime,
  deliverAt: Nullable(DateTime),
};

export const MessageOut = Type.Object(messageOutFields, { title: 'MessageOut' });

export const MessageStatusSchema = Type.Integer({
  minimum: 0,
  maximum: 4,
  description: '0 success, 1 pending, 2 fail, 3 sending, 4 canceled',
});
export const MessageStatusText = Type.Union(
  ['success', 'pending', 'fail', 'sending', 'canceled'].map((text) => Type.Literal(text)),
);

export const EndpointMessageOut = Type.Object(
  {
    ...messageOutFields,
    status: MessageStatusSchema,
    statusText: MessageStatusText,
    nextAttempt: Nullable(DateTime),
  },
  { title: 'EndpointMessageOut' },
);

const STATUS_TEXT = ['success', 'pending', 'fail', 'sending', 'canceled'] as const;

/** Canceled (4) is reported as success unless the caller asked for expanded statuses. */
export function wireStatus(status: number, expanded: boolean): number {
  return status === 4 && !expanded ? 0 : status;
}

export function statusText(status: number): (typeof STATUS_TEXT)[number] {
  return STATUS_TEXT[status] ?? 'pending';
}

/**
 * `payload` is `{}` without content, `{"expired": true}` once the payload is gone, else the
 * stored body (parsed; a raw payload that isn't JSON is shown as its string).
 */
export function toMessageOut(
  message: MessageRecord,
  withContent: boolean,
  options: { payload?: unknown; deliverAt?: number | null } = {},
) {
  let payload: unknown = {};
  if (withContent) {
    if (options.payload !== undefined) payload = options.payload;
    else payload = message.payload === null ? { expired: true } : payloadValue(message.payload);
  }
  return {
    id: message.id,
    eventId: message.eventId,
    eventType: message.eventType,
    payload,
    channels: message.channels,
    tags: message.tags,
    timestamp: toIso(message.createdAt),
    deliverAt: toIsoOrNull(options.deliverAt),
  };
}

export const MessageListQuery = Type.Object({
  ...ListQuery,
  channel: Type.Optional(Channel),
  before: Type.Optional(DateTime),
  after: Type.Optional(DateTime),
  with_content: Type.Optional(Type.Boolean({ default: true })),
  event_types: Type.Optional(Type.Array(Type.String())),
  'event_types[]': Type.Optional(Type.Array(Type.String())),
  tag: Type.Optional(Tag),
});

/**
 * `event_types` arrives as one comma-joined parameter (the SDK), repeated, or as
 * `event_types[]`; every value is split on commas.
 */
export function eventTypesOf(query: {
  event_types?: string[];
  'event_types[]'?: string[];
}): string[] | undefined {
  const values = [...(query.event_types ?? []), ...(query['event_types[]'] ?? [])]
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter((value) => value !== '');
  return values.length > 0 ? [...new Set(values)] : undefined;
}

export function timeOf(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Date.parse(value);
}
