import { createHash } from 'node:crypto';
import { Counter } from 'prom-client';
import { type AppId, newId } from '../core/ids.js';
import type { ServiceContext } from '../platform/context.js';
import type { Metrics } from '../platform/metrics.js';
import { insertInboundEvent, type StoredHeaders } from '../store/inbound-events.js';
import type { SourceId } from '../store/sources.js';
import { findSourceByTokenHash } from '../store/sources.js';
import { headerOf, routeInboundEvent } from './forwarding.js';
import { type StoredMapping, storedMapping } from './mappings.js';
import { findProvider } from './providers/index.js';
import type { InboundRequest, Provider, ProviderResponse } from './providers/types.js';
import { hashToken, type SourceConfig, type SourceSettings, splitConfig } from './sources.js';

/** A live source as the receiving path needs it: provider resolved, config opened. */
export interface ActiveSource {
  id: SourceId;
  type: string;
  provider: Provider;
  config: SourceConfig;
  settings: SourceSettings;
  /** The source's mapping (event types, lookups, projection), checked once when cached. */
  mapping: StoredMapping;
  /**
   * The source's hidden application, once an event of this cache entry has committed with it
   * (it never changes for a live source): forwarding then skips looking it up.
   */
  appId?: AppId;
}

/** What the HTTP layer hands over: the request exactly as it arrived. */
export interface RawInboundRequest {
  method: string;
  /** Path and query as received (`/in/{token}?…`). */
  url: string;
  /** Node's `rawHeaders`: name, value, name, value… */
  rawHeaders: readonly string[];
  body: Buffer;
}

export interface ReceiverAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
const json = (status: number, body: unknown): ReceiverAnswer => ({
  status,
  headers: { ...JSON_HEADERS },
  body: JSON.stringify(body),
});

/** Tokens are 32 random bytes in base64url: anything else is unknown without a lookup. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const CACHE_TTL_MS = 5_000;
const CACHE_MAX_ENTRIES = 10_000;

/** Lower-case header names; a repeated header becomes an array (never joined or guessed at). */
export function headersOf(rawHeaders: readonly string[]): StoredHeaders {
  const headers: StoredHeaders = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    const value = rawHeaders[i + 1];
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else headers[name] = [existing, value];
  }
  return headers;
}

/**
 * The request as providers see it. The query is parsed only if a provider reads it (most never
 * do), once.
 */
function inboundRequest(
  raw: RawInboundRequest,
  url: string,
  headers: StoredHeaders,
  query: string,
): InboundRequest {
  let params: URLSearchParams | undefined;
  return {
    method: raw.method,
    url,
    headers,
    get query() {
      params ??= new URLSearchParams(query);
      return params;
    },
    body: raw.body,
  };
}

function toAnswer(response: ProviderResponse): ReceiverAnswer {
  return { status: response.status, headers: { ...response.headers }, body: response.body ?? '' };
}

/**
 * The public receiving path, `/in/{token}`. Per request: one indexed lookup of the source by
 * token hash (cached for a few seconds), the size check, verification over the exact bytes,
 * then one group-committed insert of the raw request before answering. Everything after that
 * (mapping, routing, replay) starts from the stored row.
 */
export class Receiver {
  private readonly cache = new Map<string, { source: ActiveSource; expiresAt: number }>();
  private readonly receivedChildren = new Map<string, { inc(): void }>();
  readonly verificationFailures: Counter<'type'>;
  readonly received: Counter<'type' | 'status'>;
  readonly mappingFailures: Counter<'type'>;

  constructor(
    private readonly ctx: ServiceContext,
    metrics: Metrics,
  ) {
    this.verificationFailures = new Counter({
      name: 'switchboard_inbound_verification_failures_total',
      help: 'Inbound webhooks refused because their signature or credentials did not verify',
      labelNames: ['type'],
      registers: [metrics.registry],
    });
    this.received = new Counter({
      name: 'switchboard_inbound_events_total',
      help: 'Inbound webhooks stored, by source type and status (received or duplicate)',
      labelNames: ['type', 'status'],
      registers: [metrics.registry],
    });
    this.mappingFailures = new Counter({
      name: 'switchboard_inbound_mapping_failures_total',
      help: 'Inbound events stored as failed because their mapping failed (on receipt)',
      labelNames: ['type'],
      registers: [metrics.registry],
    });
  }

  /** Drops cached sources (after a source is changed, deleted or its token rotated). */
  forget(): void {
    this.cache.clear();
  }

  /**
   * The cached live source of an ingest token, without any I/O (undefined: not cached, or
   * expired). The cache is keyed by the token itself, so a hit costs one Map lookup; tokens
   * live in memory only and are never logged.
   */
  cached(token: string): ActiveSource | undefined {
    const cached = this.cache.get(token);
    if (cached === undefined) return undefined;
    if (cached.expiresAt > this.ctx.clock()) return cached.source;
    this.cache.delete(token);
    return undefined;
  }

  /** The live source of an ingest token, or undefined. Unknown tokens are not cached. */
  async resolve(token: string): Promise<ActiveSource | undefined> {
    if (!TOKEN_PATTERN.test(token)) return undefined;
    const hit = this.cached(token);
    if (hit) return hit;
    const now = this.ctx.clock();
    const tokenHash = hashToken(token);
    const record = await findSourceByTokenHash(this.ctx.db, tokenHash, now);
    if (!record) return undefined;
    const provider = findProvider(record.type);
    if (!provider) {
      this.ctx.log.error({ sourceId: record.id, type: record.type }, 'source of an unknown type');
      return undefined;
    }
    const { providerConfig, settings } = splitConfig(
      provider,
      JSON.parse(this.ctx.box.open(record.sealedConfig)) as SourceConfig,
    );
    const source: ActiveSource = {
      id: record.id,
      type: record.type,
      provider,
      config: providerConfig,
      settings,
      mapping: storedMapping(record),
    };
    // A previous token is cached no longer than its grace period lasts.
    let expiresAt = now + CACHE_TTL_MS;
    if (record.tokenHash !== tokenHash && record.previousTokenExpiresAt !== null) {
      expiresAt = Math.min(expiresAt, record.previousTokenExpiresAt);
    }
    if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.clear();
    this.cache.set(token, { source, expiresAt });
    return source;
  }

  /** The body limit of a source. */
  static tooLarge(source: ActiveSource, bytes: number): boolean {
    return bytes > source.settings.maxBodyBytes;
  }

  async receive(source: ActiveSource, raw: RawInboundRequest): Promise<ReceiverAnswer> {
    const { provider, config } = source;
    const queryIndex = raw.url.indexOf('?');
    const query = queryIndex < 0 ? '' : raw.url.slice(queryIndex + 1);
    const headers = headersOf(raw.rawHeaders);
    const request = inboundRequest(raw, `${this.ctx.config.publicUrl}${raw.url}`, headers, query);

    if (raw.method === 'GET' || raw.method === 'HEAD') {
      if (!provider.handshake) {
        return json(405, { code: 'method_not_allowed', detail: 'Send webhooks with POST.' });
      }
      const answer = this.safely(source, 'handshake', () => provider.handshake?.(request, config));
      return answer
        ? toAnswer(answer)
        : json(400, { code: 'bad_request', detail: 'Not a verification request.' });
    }
    if (raw.method !== 'POST') {
      return json(405, { code: 'method_not_allowed', detail: 'Send webhooks with POST.' });
    }
    if (Receiver.tooLarge(source, raw.body.length)) {
      return json(413, { code: 'payload_too_large', detail: 'Request payload is too large.' });
    }

    const now = this.ctx.clock();
    const verdict = this.safely(source, 'verify', () =>
      provider.verify(request, config, now, source.settings.toleranceSeconds),
    ) ?? { ok: false as const, reason: 'the verifier failed' };
    if (!verdict.ok) {
      this.verificationFailures.inc({ type: source.type });
      this.ctx.log.info(
        { sourceId: source.id, type: source.type, reason: verdict.reason },
        'inbound webhook failed verification',
      );
      if (provider.failureStatus === 404) return json(404, {});
      return json(401, {
        code: 'authentication_failed',
        detail: 'The webhook could not be verified.',
      });
    }

    const handshake = this.safely(source, 'handshake', () => provider.handshake?.(request, config));
    if (handshake) return toAnswer(handshake);

    const providerEventId = this.safely(source, 'eventId', () => provider.eventId(request));
    const eventType = this.safely(source, 'eventType', () => provider.eventType(request));
    const dedupKey =
      typeof providerEventId === 'string' && providerEventId !== ''
        ? `id:${providerEventId}`
        : `sha256:${createHash('sha256').update(raw.body).digest('hex')}`;
    const eventId = newId('event', now);
    const providerType = typeof eventType === 'string' ? eventType : null;
    const { status, queued, mappingFailed, appId } = await this.ctx.db.batch(async (tx) => {
      const stored = await insertInboundEvent(
        tx,
        {
          id: eventId,
          sourceId: source.id,
          receivedAt: now,
          method: raw.method,
          query,
          headers,
          body: raw.body,
          providerEventId: typeof providerEventId === 'string' ? providerEventId : null,
          eventType: providerType,
          dedupKey,
        },
        source.settings.dedupWindowSeconds * 1000,
      );
      if (stored !== 'received') {
        return { status: stored, queued: 0, mappingFailed: false, appId: undefined };
      }
      // Mapping and forwarding commit with the event, or not at all. A mapping failure marks
      // the event failed; the provider still gets its 2xx (the event is verified and stored).
      const routed = await routeInboundEvent(
        this.ctx,
        tx,
        {
          id: eventId,
          sourceId: source.id,
          eventType: providerType,
          body: raw.body,
          contentType: headerOf(headers, 'content-type'),
          status: 'received',
          error: null,
          appId: source.appId,
        },
        source.mapping,
        now,
      );
      return {
        status: stored,
        queued: routed.queued,
        mappingFailed: routed.status === 'failed',
        appId: routed.appId,
      };
    });
    // Committed: the hidden application exists from now on, whoever created it.
    if (appId !== undefined && source.appId === undefined) source.appId = appId;
    if (mappingFailed) this.mappingFailures.inc({ type: source.type });
    if (queued > 0) this.ctx.queue.notify();
    this.receivedCounter(source.type, status).inc();

    const ack = provider.acknowledge
      ? this.safely(source, 'acknowledge', () => provider.acknowledge?.(request, config))
      : undefined;
    return ack ? toAnswer(ack) : { status: 200, headers: { ...JSON_HEADERS }, body: '{}' };
  }

  /** `received` by (type, status), children kept: no label hashing per request. */
  private receivedCounter(type: string, status: string): { inc(): void } {
    const key = `${type}\n${status}`;
    let child = this.receivedChildren.get(key);
    if (child === undefined) {
      child = this.received.labels({ type, status });
      this.receivedChildren.set(key, child);
    }
    return child;
  }

  /** Providers are pure code over hostile input: a throw is a refusal, never a 500. */
  private safely<T>(source: ActiveSource, step: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (error) {
      this.ctx.log.warn(
        { sourceId: source.id, type: source.type, step, err: error },
        'provider threw',
      );
      return undefined;
    }
  }
}
