import { isUtf8 } from 'node:buffer';
import { Type } from '@sinclair/typebox';
import { toIso } from '../../core/time.js';
import { findProvider } from '../../inbound/providers/index.js';
import type { Source } from '../../inbound/sources.js';
import {
  INBOUND_EVENT_STATUSES,
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

export const InboundEventDetailOut = Type.Object(
  {
    ...InboundEventOut.properties,
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

export function toInboundEventDetailOut(event: InboundEventRecord & { bodySize: number }) {
  return {
    ...toInboundEventOut(event),
    request: {
      method: event.method,
      query: event.query,
      headers: redactHeaders(event.headers),
      body: event.body.toString('base64'),
      bodyText: isUtf8(event.body) ? event.body.toString('utf8') : null,
    },
  };
}
