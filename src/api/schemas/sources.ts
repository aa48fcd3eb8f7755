import { isUtf8 } from 'node:buffer';
import { Type } from '@sinclair/typebox';
import { toIso, toIsoOrNull } from '../../core/time.js';
import { findProvider } from '../../inbound/providers/index.js';
import { MAX_REPLAY_LIMIT } from '../../inbound/replay.js';
import type { Source } from '../../inbound/sources.js';
import {
  INBOUND_EVENT_STATUSES,
  type InboundEventDestination,
  type InboundEventRecord,
  type InboundEventSummary,
} from '../../store/inbound-events.js';
import { DateTime, Metadata, Nullable } from './common.js';

/** Svix: 1–60 characters, and never `src_…` (checked by the service, with Svix's message). */
const SourceUid = Type.String({ minLength: 1, maxLength: 60, pattern: '^[a-zA-Z0-9_-]+$' });

/** Per-type config: validated by the service against the provider's own schema. */
const AnyConfig = Type.Object({}, { additionalProperties: true });

export const IngestSourceIn = Type.Object(
  {
    name: Type.String({ minLength: 2, maxLength: 256 }),
    uid: Type.Optional(Nullable(SourceUid)),
    type: Type.String({ minLength: 1, maxLength: 64 }),
    config: Type.Optional(Nullable(AnyConfig)),
    metadata: Type.Optional(Metadata),
  },
  { title: 'IngestSourceIn' },
);

export const IngestSourceOut = Type.Object(
  {
    id: Type.String({ examples: ['src_2yZwUhtgs5Ai8T9yRQJXA'] }),
    uid: Nullable(Type.String()),
    name: Type.String(),
    type: Type.String(),
    config: AnyConfig,
    ingestUrl: Nullable(Type.String({ format: 'uri' })),
    metadata: Metadata,
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { title: 'IngestSourceOut' },
);

export const RotateTokenOut = Type.Object(
  { ingestUrl: Type.String({ format: 'uri' }) },
  { title: 'RotateTokenOut' },
);

/**
 * Svix's ConfigOut: secrets are omitted, not masked (svix-ingest.md §4.1), so the SDK's parsers
 * (which read `publicKey` for orum-io/telnyx and the cron fields) find what they expect.
 */
export function configOut(type: string, config: Record<string, unknown>): Record<string, unknown> {
  const secrets = new Set(findProvider(type)?.secretFields ?? []);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) if (!secrets.has(key)) out[key] = value;
  return out;
}

export function toIngestSourceOut(source: Source) {
  return {
    id: source.id,
    uid: source.uid,
    name: source.name,
    type: source.type,
    config: configOut(source.type, source.config),
    ingestUrl: source.ingestUrl,
    metadata: source.metadata,
    createdAt: toIso(source.createdAt),
    updatedAt: toIso(source.updatedAt),
  };
}

// --- the inbound event log (beyond Svix) ---

export const InboundEventStatus = Type.Union(
  INBOUND_EVENT_STATUSES.map((status) => Type.Literal(status)),
);

export const InboundEventOut = Type.Object(
  {
    id: Type.String({ examples: ['evt_2yZwUhtgs5Ai8T9yRQJXAbcdefg'] }),
    sourceId: Type.String(),
    receivedAt: DateTime,
    updatedAt: DateTime,
    method: Type.String(),
    query: Type.String(),
    bodySize: Type.Integer(),
    eventId: Nullable(Type.String({ description: "The provider's event or delivery id" })),
    eventType: Nullable(Type.String({ description: "The provider's event type" })),
    dedupKey: Type.String(),
    status: InboundEventStatus,
    error: Nullable(Type.String()),
  },
  { title: 'InboundEventOut' },
);

const DeliveryStatusName = Type.Union(
  ['success', 'pending', 'fail', 'sending', 'canceled'].map((name) => Type.Literal(name)),
  { description: "Svix's MessageStatus, by name" },
);

export const InboundEventDestinationOut = Type.Object(
  {
    messageId: Type.String({ description: 'The outbound message that forwarded the event' }),
    eventType: Type.String({ description: 'The event type it was forwarded as (after mapping)' }),
    createdAt: DateTime,
    endpointId: Type.String(),
    url: Nullable(Type.String()),
    status: DeliveryStatusName,
    attempts: Type.Integer({ description: 'Attempts made so far' }),
    nextAttempt: Nullable(DateTime),
    lastAttempt: Nullable(
      Type.Object({
        statusCode: Type.Integer({ description: '0 when no HTTP response arrived' }),
        response: Type.String({ description: 'The response body (first 1000 characters)' }),
        timestamp: DateTime,
      }),
    ),
  },
  { title: 'InboundEventDestinationOut' },
);

export const InboundEventDetailOut = Type.Object(
  {
    ...InboundEventOut.properties,
    mappedEventType: Nullable(
      Type.String({ description: 'The event type of its latest forwarding (after mapping)' }),
    ),
    destinations: Type.Array(InboundEventDestinationOut, {
      description:
        'Every delivery of every forwarding of the event (first routing, then replays), oldest first',
    }),
    request: Type.Object({
      method: Type.String(),
      query: Type.String(),
      headers: Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())])),
      body: Type.String({ description: 'The exact body bytes, base64' }),
      bodyText: Nullable(Type.String({ description: 'The body as text when it is valid UTF-8' })),
    }),
  },
  { title: 'InboundEventDetailOut' },
);

export function toInboundEventOut(event: InboundEventSummary) {
  return {
    id: event.id,
    sourceId: event.sourceId,
    receivedAt: toIso(event.receivedAt),
    updatedAt: toIso(event.updatedAt),
    method: event.method,
    query: event.query,
    bodySize: event.bodySize,
    eventId: event.providerEventId,
    eventType: event.eventType,
    dedupKey: event.dedupKey,
    status: event.status,
    error: event.error,
  };
}

/** Credentials a provider sent (basic auth, shared tokens) are stored for replay, never shown. */
const SENSITIVE_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-api-key',
  'x-auth-token',
  'x-gitlab-token',
]);

function redactHeaders(
  headers: Record<string, string | string[]>,
): Record<string, string | string[]> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [
      name,
      SENSITIVE_HEADERS.has(name.toLowerCase()) ? '[redacted]' : value,
    ]),
  );
}

const DELIVERY_STATUS_NAMES = ['success', 'pending', 'fail', 'sending', 'canceled'] as const;

export function toInboundEventDestinationOut(destination: InboundEventDestination) {
  return {
    messageId: destination.messageId,
    eventType: destination.eventType,
    createdAt: toIso(destination.messageCreatedAt),
    endpointId: destination.endpointId,
    url: destination.url,
    status: DELIVERY_STATUS_NAMES[destination.status] ?? 'pending',
    attempts: destination.attempts,
    nextAttempt: toIsoOrNull(destination.nextAttemptAt),
    lastAttempt: destination.lastAttempt && {
      statusCode: destination.lastAttempt.statusCode,
      response: destination.lastAttempt.response,
      timestamp: toIso(destination.lastAttempt.at),
    },
  };
}

export function toInboundEventDetailOut(
  event: InboundEventRecord & { bodySize: number },
  destinations: InboundEventDestination[] = [],
) {
  return {
    ...toInboundEventOut(event),
    mappedEventType: destinations.at(-1)?.eventType ?? null,
    destinations: destinations.map(toInboundEventDestinationOut),
    request: {
      method: event.method,
      query: event.query,
      headers: redactHeaders(event.headers),
      body: event.body.toString('base64'),
      bodyText: isUtf8(event.body) ? event.body.toString('utf8') : null,
    },
  };
}

// --- mapping and replay (beyond Svix) ---

export const ReplayOut = Type.Object(
  {
    status: InboundEventStatus,
    queued: Type.Integer({ description: 'Deliveries queued' }),
    error: Nullable(Type.String()),
  },
  { title: 'InboundEventReplayOut' },
);

/** One enum (not a union of constants): a wrong value gets one clear message. */
const StatusName = Type.Unsafe<(typeof INBOUND_EVENT_STATUSES)[number]>({
  type: 'string',
  enum: [...INBOUND_EVENT_STATUSES],
});

export const BulkReplayIn = Type.Object(
  {
    status: Type.Optional(
      Type.Array(StatusName, {
        minItems: 1,
        maxItems: INBOUND_EVENT_STATUSES.length,
        description: 'Statuses to replay; default every status but duplicate',
      }),
    ),
    eventType: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, description: "The provider's event type" }),
    ),
    since: Type.Optional(DateTime),
    until: Type.Optional(DateTime),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_REPLAY_LIMIT, description: 'Default 1000' }),
    ),
  },
  { additionalProperties: false, title: 'InboundEventBulkReplayIn' },
);

export const BulkReplayOut = Type.Object(
  {
    matched: Type.Integer({ description: 'Events replayed' }),
    queued: Type.Integer({ description: 'Deliveries queued' }),
    failed: Type.Integer({ description: 'Events whose mapping failed' }),
  },
  { title: 'InboundEventBulkReplayOut' },
);
