import { BadRequestError, ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { type AppId, type EndpointId, newId } from '../core/ids.js';
import type { ServiceContext } from '../platform/context.js';
import { findApplication } from '../store/applications.js';
import type { EndpointDeliveryOptions } from '../store/endpoint-health.js';
import type { EndpointRecord } from '../store/endpoints.js';
import * as store from '../store/endpoints.js';
import type { Page, PageRequest } from '../store/pagination.js';
import { type Sql, UniqueViolation } from '../store/sql.js';
import { checkUid } from './applications.js';
import { requireAvailableEventTypes } from './event-types.js';
import {
  generateSecret,
  InvalidSecretError,
  parseSecret,
  parseSigningKey,
  publicKeyFromSigningKey,
  SECRET_PREFIX,
  SIGNING_KEY_PREFIX,
} from './signing.js';
import { type AllowList, checkDestination, parseAllowedNetworks } from './ssrf.js';
import {
  DestinationError,
  isDestinationScheme,
  parseDestination,
  schemeOf,
} from './transports/destination.js';

/** Switchboard's delivery options as the API takes them; `null` = the default. */
export interface DeliveryOptionsInput {
  /** `fifo`: the next message waits until the previous one succeeded or was given up. */
  ordering?: 'fifo' | 'unordered' | null;
  /** Retry every non-2xx answer, not only 408, 429 and 5xx. */
  retryNon2xx?: boolean | null;
  /** A legacy signature header sent alongside the Standard Webhooks ones. */
  legacySignature?: LegacySignature | null;
}

export type LegacySignature = NonNullable<EndpointDeliveryOptions['legacySignature']>;

/** The delivery options with every default filled in, as EndpointOut shows them. */
export interface DeliveryOptions {
  ordering: 'fifo' | 'unordered';
  retryNon2xx: boolean;
  legacySignature: LegacySignature | null;
}

export interface EndpointInput extends DeliveryOptionsInput {
  url: string;
  description?: string;
  uid?: string | null;
  throttleRate?: number | null;
  disabled?: boolean;
  /** null/absent = every event type. */
  eventTypes?: string[] | null;
  /** null/absent = every message. */
  channels?: string[] | null;
  metadata?: Record<string, string>;
  version?: number;
  /** Create only: null/absent = generated. */
  secret?: string | null;
  /** Create only: the initial custom headers. */
  headers?: Record<string, string> | null;
}

/** PUT (EndpointUpsertIn): no secret, no headers. */
export type EndpointUpsertInput = Omit<EndpointInput, 'secret' | 'headers'>;

/** Absent = unchanged, `null` = cleared. */
export type EndpointPatch = Partial<EndpointUpsertInput>;

/**
 * Which application the endpoints belong to, beyond its id. The hidden operational
 * application filters on Switchboard's own event names (`endpoint.disabled`, …), which are not
 * in the event-type catalogue: for it, `eventTypes` lists the names a filter may use.
 */
export interface EndpointScope {
  eventTypes?: readonly string[];
  /**
   * Source endpoints (the ingest API) may also be `nats:SUBJECT`, `mailto:…` or `app:APP`
   * destinations; application endpoints are http(s) only.
   */
  destinations?: boolean;
  /**
   * Filters may name any event type, not only those of the catalogue: a source's endpoints
   * filter on provider or mapped types (`push`, `licence.sale`) that nobody declares.
   */
  anyEventType?: boolean;
}

export interface HeadersOut {
  headers: Record<string, string>;
  sensitive: string[];
}

/** The default grace period of a rotated-out secret, and the most a caller may ask for. */
export const DEFAULT_GRACE_SECONDS = 86_400;
export const MAX_GRACE_SECONDS = 604_800;
/** At most this many old secrets may be inside their grace period at once (as in Svix). */
export const MAX_OLD_SECRETS = 10;

const METADATA_MAX_BYTES = 4096;
const HEADER_VALUE_MAX_BYTES = 4096;

// ---------------------------------------------------------------------------------------------
// Validation

/** http(s) only, absolute; stored in its normalised form (`https://a.com` → `https://a.com/`). */
const allowLists = new WeakMap<ServiceContext['config'], AllowList>();

/**
 * Absolute http(s) URL, normalised. `https://` is required unless the host is in
 * SWITCHBOARD_ALLOWED_NETWORKS (an allowed IP literal, or `localhost` when loopback is
 * allowed): the seed's "HTTPS only, localhost for development". The resolved address is
 * checked again at every delivery (DNS can change).
 */
function normaliseUrl(ctx: ServiceContext, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw ValidationError.at(['body', 'url'], 'URL must be an absolute http or https URL.');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw ValidationError.at(['body', 'url'], 'URL scheme must be http or https.');
  }
  if (parsed.hostname === '') {
    throw ValidationError.at(['body', 'url'], 'URL must have a host.');
  }
  let allowList = allowLists.get(ctx.config);
  if (!allowList) {
    allowList = parseAllowedNetworks(ctx.config.allowedNetworks);
    allowLists.set(ctx.config, allowList);
  }
  const destination = checkDestination(parsed.toString(), allowList);
  if (!destination.ok) {
    throw ValidationError.at(['body', 'url'], destination.reason.replace(/^refused: /, ''));
  }
  return parsed.toString();
}

/**
 * An endpoint URL: http(s) as {@link normaliseUrl} takes it or, for source endpoints only, a
 * `nats:`, `mailto:` or `app:` destination (stored as given; an `app:` must name an existing
 * public application).
 */
async function checkUrl(
  ctx: ServiceContext,
  url: string,
  scope: EndpointScope,
  sql: Sql = ctx.db,
): Promise<string> {
  const scheme = schemeOf(url);
  if (!isDestinationScheme(scheme)) return normaliseUrl(ctx, url);
  if (!scope.destinations) {
    throw ValidationError.at(
      ['body', 'url'],
      `URL scheme must be http or https (${scheme}: URLs are accepted for ingest source endpoints only).`,
    );
  }
  let destination: ReturnType<typeof parseDestination>;
  try {
    destination = parseDestination(url);
  } catch (error) {
    if (error instanceof DestinationError) throw ValidationError.at(['body', 'url'], error.message);
    throw error;
  }
  if (destination.kind === 'app' && !(await findApplication(sql, destination.app))) {
    throw ValidationError.at(
      ['body', 'url'],
      `Application "${destination.app}" not found: app: needs the id or uid of an existing application.`,
    );
  }
  return url;
}

function checkMetadata(metadata: Record<string, string> | undefined): void {
  if (metadata && Buffer.byteLength(JSON.stringify(metadata)) > METADATA_MAX_BYTES) {
    throw ValidationError.at(['body', 'metadata'], 'Metadata must not exceed 4096 bytes.');
  }
}

/** A `whsec_` secret (24..64 bytes) or a `whsk_` ed25519 signing key; 422 at `loc` otherwise. */
function checkSecret(secret: string, loc: (string | number)[]): void {
  try {
    if (secret.startsWith(SIGNING_KEY_PREFIX)) parseSigningKey(secret);
    else if (secret.startsWith(SECRET_PREFIX)) parseSecret(secret);
    else throw ValidationError.at(loc, 'invalid prefix');
  } catch (error) {
    if (error instanceof InvalidSecretError) throw ValidationError.at(loc, error.message);
    throw error;
  }
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// What an HTTP client can send: tab, visible ASCII, space and Latin-1 obs-text; no CR/LF/NUL.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const FORBIDDEN_HEADERS = new Set([
  'user-agent',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'age',
  'cache-control',
  'clear-site-data',
  'expires',
  'pragma',
  'warning',
  'content-length',
  'content-type',
  'content-encoding',
  'content-language',
  'content-location',
]);
const FORBIDDEN_HEADER_PREFIXES = [
  'x-amz-',
  'x-amzn-',
  'x-google',
  'x-goog-',
  'x-gfe',
  'x-azure-',
  'x-fd-',
  'x-svix-',
  'svix-',
];
/** Stored, sent, but never shown back by GET …/headers. */
const SENSITIVE_HEADERS = new Set([
  'authorization',
  'x-auth-token',
  'x-api-key',
  'www-authenticate',
  'proxy-authenticate',
  'proxy-authorization',
]);

function checkHeaderName(name: string, loc: (string | number)[]): void {
  const lower = name.toLowerCase();
  if (!HEADER_NAME.test(name)) throw ValidationError.at(loc, 'Invalid Header Name.');
  if (FORBIDDEN_HEADERS.has(lower)) throw ValidationError.at(loc, 'Header uses a forbidden key.');
  if (FORBIDDEN_HEADER_PREFIXES.some((prefix) => lower.startsWith(prefix))) {
    throw ValidationError.at(loc, 'Header starts with a forbidden prefix.');
  }
}

function checkHeaderValue(value: string, loc: (string | number)[]): void {
  if (!HEADER_VALUE.test(value)) throw ValidationError.at(loc, 'Invalid Header Value.');
  if (Buffer.byteLength(value) > HEADER_VALUE_MAX_BYTES) {
    throw ValidationError.at(loc, 'Maximum header length is 4096 bytes');
  }
}

/** Validates a set of headers; names differing only in case collapse to the last one given. */
function checkHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const loc = ['body', 'headers', name];
    checkHeaderName(name, loc);
    checkHeaderValue(value, loc);
    setHeader(out, name, value);
  }
  return out;
}

function removeHeader(headers: Record<string, string>, name: string): void {
  const lower = name.toLowerCase();
  for (const existing of Object.keys(headers)) {
    if (existing.toLowerCase() === lower) delete headers[existing];
  }
}

function setHeader(headers: Record<string, string>, name: string, value: string): void {
  removeHeader(headers, name);
  headers[name] = value;
}

// ---------------------------------------------------------------------------------------------
// Sealing

/**
 * Secrets are sealed as the bare key string (`whsec_…` / `whsk_…`), current and old alike;
 * headers as a JSON object. The delivery engine (`store/endpoint-health.ts`) reads both so.
 */
function openSecret(ctx: ServiceContext, sealed: string): string {
  return ctx.box.open(sealed);
}

function sealSecret(ctx: ServiceContext, key: string): string {
  return ctx.box.seal(key);
}

function openHeaders(ctx: ServiceContext, sealed: string): Record<string, string> {
  return (JSON.parse(ctx.box.open(sealed)) as Record<string, string> | null) ?? {};
}

function sealHeaders(ctx: ServiceContext, headers: Record<string, string>): string {
  return ctx.box.seal(JSON.stringify(headers));
}

// ---------------------------------------------------------------------------------------------
// Endpoints

async function conflictOnUid<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof UniqueViolation) throw new ConflictError();
    throw error;
  }
}

export async function requireEndpoint(
  sql: Sql,
  appId: AppId,
  idOrUid: string,
): Promise<EndpointRecord> {
  const endpoint = await store.findEndpoint(sql, appId, idOrUid);
  if (!endpoint) throw new NotFoundError();
  return endpoint;
}

/**
 * Filters may only name existing, non-archived event types — except those the endpoint
 * already filters on: archiving an event type does not break the endpoints that use it.
 */
async function checkEventTypes(
  sql: Sql,
  names: string[] | null | undefined,
  existing: EndpointRecord | undefined,
  scope: EndpointScope,
): Promise<void> {
  if (scope.anyEventType) return;
  const kept = existing?.eventTypes ?? [];
  const added = names?.filter((name) => !kept.includes(name));
  const allowed = scope.eventTypes;
  if (allowed === undefined) {
    return requireAvailableEventTypes(sql, added, ['body', 'eventTypes']);
  }
  const missing = added?.filter((name) => !allowed.includes(name)) ?? [];
  if (missing.length > 0) {
    throw ValidationError.at(
      ['body', 'eventTypes'],
      `The following event types don't exist: ${missing.join(', ')}`,
    );
  }
}

// Headers the engine sets itself: a legacy signature must not replace them.
const RESERVED_SIGNATURE_HEADERS = new Set([
  'accept',
  'connection',
  'host',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
]);

/** A legacy signature header name: a valid, non-reserved header token, stored lower case. */
function checkLegacySignature(
  value: LegacySignature | null | undefined,
): LegacySignature | null | undefined {
  if (!value) return value;
  if (value.header === undefined) return { scheme: value.scheme };
  const loc = ['body', 'legacySignature', 'header'];
  checkHeaderName(value.header, loc);
  const header = value.header.toLowerCase();
  if (RESERVED_SIGNATURE_HEADERS.has(header)) {
    throw ValidationError.at(loc, 'Header is set by Switchboard itself.');
  }
  return { scheme: value.scheme, header };
}

/** The stored options of a create/PUT body: absent or null fields take their default. */
function deliveryOptionsOf(input: DeliveryOptionsInput): EndpointDeliveryOptions {
  return {
    ordering: input.ordering ?? 'unordered',
    retryNon2xx: input.retryNon2xx ?? false,
    legacySignature: checkLegacySignature(input.legacySignature) ?? null,
  };
}

/** PATCH: absent = unchanged, null = back to the default. */
function patchDeliveryOptions(
  existing: EndpointDeliveryOptions | undefined,
  patch: DeliveryOptionsInput,
): EndpointDeliveryOptions {
  const base = withDefaults(existing);
  return {
    ordering: patch.ordering === undefined ? base.ordering : (patch.ordering ?? 'unordered'),
    retryNon2xx: patch.retryNon2xx === undefined ? base.retryNon2xx : (patch.retryNon2xx ?? false),
    legacySignature:
      patch.legacySignature === undefined
        ? base.legacySignature
        : (checkLegacySignature(patch.legacySignature) ?? null),
  };
}

/** The options of a record, every default filled in (what EndpointOut shows). */
export function withDefaults(options: EndpointDeliveryOptions | undefined): DeliveryOptions {
  return {
    ordering: options?.ordering ?? 'unordered',
    retryNon2xx: options?.retryNon2xx ?? false,
    legacySignature: options?.legacySignature ?? null,
  };
}

/**
 * The legacy schemes are HMACs keyed with the endpoint's `whsec_` secret: an ed25519
 * (`whsk_`) endpoint has no such secret to sign them with.
 */
function checkLegacyKey(
  legacy: LegacySignature | null | undefined,
  secret: string,
  loc: (string | number)[],
): void {
  if (legacy && secret.startsWith(SIGNING_KEY_PREFIX)) {
    throw ValidationError.at(
      loc,
      'A legacy signature scheme needs an HMAC (whsec_) secret, not an ed25519 (whsk_) key.',
    );
  }
}

/** Checks what a create/PUT body carries beyond its schema; returns the normalised URL. */
async function checkInput(
  ctx: ServiceContext,
  input: EndpointUpsertInput,
  scope: EndpointScope,
): Promise<string> {
  checkUid(input.uid, 'ep_', ['body', 'uid']);
  const url = await checkUrl(ctx, input.url, scope);
  checkMetadata(input.metadata);
  return url;
}

function recordFrom(
  input: EndpointUpsertInput,
  url: string,
  base: { id: EndpointId; appId: AppId; createdAt: number },
  now: number,
): EndpointRecord {
  return {
    ...base,
    uid: input.uid ?? null,
    url,
    description: input.description ?? '',
    version: input.version ?? 1,
    throttleRate: input.throttleRate ?? null,
    disabled: input.disabled ?? false,
    eventTypes: input.eventTypes ?? null,
    channels: input.channels ?? null,
    metadata: input.metadata ?? {},
    options: deliveryOptionsOf(input),
    updatedAt: now,
  };
}

export async function createEndpoint(
  ctx: ServiceContext,
  appId: AppId,
  input: EndpointInput,
  scope: EndpointScope = {},
): Promise<EndpointRecord> {
  const url = await checkInput(ctx, input, scope);
  if (typeof input.secret === 'string') checkSecret(input.secret, ['body', 'secret']);
  const headers = input.headers ? checkHeaders(input.headers) : {};
  await checkEventTypes(ctx.db, input.eventTypes, undefined, scope);
  const now = ctx.clock();
  const endpoint = recordFrom(
    input,
    url,
    { id: newId('endpoint', now), appId, createdAt: now },
    now,
  );
  const secret = input.secret ?? generateSecret();
  checkLegacyKey(endpoint.options?.legacySignature, secret, ['body', 'legacySignature']);
  await conflictOnUid(() =>
    store.insertEndpoint(ctx.db, endpoint, {
      secret: sealSecret(ctx, secret),
      headers: sealHeaders(ctx, headers),
    }),
  );
  return endpoint;
}

/**
 * PUT: a full replace of an existing endpoint, or a create (new id, generated secret, the uid
 * from the body only) when `{endpoint_id}` matches nothing.
 */
export async function upsertEndpoint(
  ctx: ServiceContext,
  appId: AppId,
  idOrUid: string,
  input: EndpointUpsertInput,
  scope: EndpointScope = {},
): Promise<{ endpoint: EndpointRecord; created: boolean }> {
  const url = await checkInput(ctx, input, scope);
  const existing = await store.findEndpoint(ctx.db, appId, idOrUid);
  if (!existing) {
    const created = await createEndpoint(
      ctx,
      appId,
      { ...input, secret: undefined, headers: undefined },
      scope,
    );
    return { endpoint: created, created: true };
  }
  await checkEventTypes(ctx.db, input.eventTypes, existing, scope);
  const endpoint = recordFrom(input, url, existing, ctx.clock());
  if (endpoint.options?.legacySignature) {
    const sealed = await store.findEndpointSealed(ctx.db, existing.id);
    if (sealed) {
      checkLegacyKey(endpoint.options.legacySignature, openSecret(ctx, sealed.secret), [
        'body',
        'legacySignature',
      ]);
    }
  }
  await conflictOnUid(() =>
    store.updateEndpoint(ctx.db, endpoint, {
      resetFailures: existing.disabled && !endpoint.disabled,
    }),
  );
  return { endpoint, created: false };
}

export async function patchEndpoint(
  ctx: ServiceContext,
  appId: AppId,
  idOrUid: string,
  patch: EndpointPatch,
  scope: EndpointScope = {},
): Promise<EndpointRecord> {
  checkUid(patch.uid, 'ep_', ['body', 'uid']);
  const url = patch.url === undefined ? undefined : await checkUrl(ctx, patch.url, scope);
  checkMetadata(patch.metadata);
  return conflictOnUid(() =>
    ctx.db.transaction(async (tx) => {
      const found = await requireEndpoint(tx, appId, idOrUid);
      const now = ctx.clock();
      await store.touchEndpoint(tx, found.id, now);
      const existing = (await store.getEndpointById(tx, found.id)) ?? found;
      await checkEventTypes(tx, patch.eventTypes, existing, scope);
      const options = patchDeliveryOptions(existing.options, patch);
      if (patch.legacySignature) {
        const sealed = await store.findEndpointSealed(tx, existing.id);
        if (sealed) {
          checkLegacyKey(options.legacySignature, openSecret(ctx, sealed.secret), [
            'body',
            'legacySignature',
          ]);
        }
      }
      const endpoint: EndpointRecord = {
        id: existing.id,
        appId: existing.appId,
        createdAt: existing.createdAt,
        url: url ?? existing.url,
        description: patch.description ?? existing.description,
        version: patch.version ?? existing.version,
        disabled: patch.disabled ?? existing.disabled,
        uid: patch.uid === undefined ? existing.uid : patch.uid,
        throttleRate: patch.throttleRate === undefined ? existing.throttleRate : patch.throttleRate,
        eventTypes: patch.eventTypes === undefined ? existing.eventTypes : patch.eventTypes,
        channels: patch.channels === undefined ? existing.channels : patch.channels,
        metadata: patch.metadata ?? existing.metadata,
        options,
        updatedAt: now,
      };
      await store.updateEndpoint(tx, endpoint, {
        resetFailures: existing.disabled && !endpoint.disabled,
      });
      return endpoint;
    }),
  );
}

export function getEndpoint(
  ctx: ServiceContext,
  appId: AppId,
  idOrUid: string,
): Promise<EndpointRecord> {
  return requireEndpoint(ctx.db, appId, idOrUid);
}

/** Soft delete: the uid is freed; the row stays for the attempt history. Returns what it was. */
export async function deleteEndpoint(
  ctx: ServiceContext,
  appId: AppId,
  idOrUid: string,
): Promise<EndpointRecord> {
  const endpoint = await requireEndpoint(ctx.db, appId, idOrUid);
  await store.deleteEndpoint(ctx.db, endpoint.id, ctx.clock());
  return endpoint;
}

/** Iterators must be endpoint ids (a leading `-` travels back). */
function checkIterator(iterator: string | null | undefined): void {
  if (!iterator) return;
  const key = iterator.startsWith('-') ? iterator.slice(1) : iterator;
  if (!key.startsWith('ep_')) throw ValidationError.at(['query', 'iterator'], 'Invalid iterator.');
}

export function listEndpoints(
  ctx: ServiceContext,
  appId: AppId,
  request: PageRequest,
): Promise<Page<EndpointRecord>> {
  checkIterator(request.iterator);
  return store.listEndpoints(ctx.db, appId, request);
}

// ---------------------------------------------------------------------------------------------
// Secrets

/** The signing secret; for an ed25519 (`whsk_`) endpoint the `whpk_` public key. */
export async function getEndpointSecret(
  ctx: ServiceContext,
  appId: AppId,
  idOrUid: string,
): Promise<string> {
  const endpoint = await requireEndpoint(ctx.db, appId, idOrUid);
  const sealed = await store.findEndpointSealed(ctx.db, endpoint.id);
  if (!sealed) throw new NotFoundError();
  const key = openSecret(ctx, sealed.secret);
  return key.startsWith(SIGNING_KEY_PREFIX) ? publicKeyFromSigningKey(key) : key;
}

/**
 * Replaces the signing secret (with `key`, or a generated one). The old secret keeps signing
 * for `gracePeriodSeconds` (default 24 h); more than 10 old secrets in their grace period at
 * once is a 400 `limit_reached`.
 */
export async function rotateEndpointSecret(
  ctx: ServiceContext,
  appId: AppId,
  idOrUid: string,
  options: { key?: string | null; gracePeriodSeconds?: number | null },
): Promise<EndpointRecord> {
  if (typeof options.key === 'string') checkSecret(options.key, ['body', 'key']);
  const grace = options.gracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
  if (!Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_SECONDS) {
    throw ValidationError.at(
      ['body', 'gracePeriodSeconds'],
      `The grace period must be between 0 and ${MAX_GRACE_SECONDS} seconds.`,
    );
  }
  const next = options.key ?? generateSecret();
  return ctx.db.transaction(async (tx) => {
    const endpoint = await requireEndpoint(tx, appId, idOrUid);
    checkLegacyKey(endpoint.options?.legacySignature, next, ['body', 'key']);
    const now = ctx.clock();
    await store.touchEndpoint(tx, endpoint.id, now);
    await store.purgeExpiredOldSecrets(tx, endpoint.id, now);
    if ((await store.countOldSecrets(tx, endpoint.id, now)) >= MAX_OLD_SECRETS) {
      throw new BadRequestError(
        'limit_reached',
        `You can only rotate a key ${MAX_OLD_SECRETS} times while older keys are still valid.`,
      );
    }
    const sealed = await store.findEndpointSealed(tx, endpoint.id);
    if (!sealed) throw new NotFoundError();
    // The old secret is moved as it is, still sealed.
    await store.insertOldSecret(tx, endpoint.id, sealed.secret, now + grace * 1000);
    await store.updateEndpointSecret(tx, endpoint.id, sealSecret(ctx, next), now);
    return endpoint;
  });
}

/**
 * Every key a delivery to this endpoint must be signed with: the current secret, then the old
 * secrets still in their grace period, newest first (latest expiry first — the order only
 * decides the order of the signatures in the header). Opened (plaintext): never log them.
 */
export async function signingKeys(
  ctx: ServiceContext,
  endpointId: EndpointId,
  sql: Sql = ctx.db,
): Promise<string[]> {
  const sealed = await store.findEndpointSealed(sql, endpointId);
  if (!sealed) throw new NotFoundError();
  const old = await store.listOldSecrets(sql, endpointId, ctx.clock());
  return [openSecret(ctx, sealed.secret), ...old.map((row) => openSecret(ctx, row.secret))];
}

// ---------------------------------------------------------------------------------------------
// Custom headers

/** Sensitive headers (authorization, API keys…) are listed by name only, never shown. */
export async function getEndpointHeaders(
  ctx: ServiceContext,
  appId: AppId,
  idOrUid: string,
): Promise<HeadersOut> {
  const endpoint = await requireEndpoint(ctx.db, appId, idOrUid);
  const sealed = await store.findEndpointSealed(ctx.db, endpoint.id);
  if (!sealed) throw new NotFoundError();
  const out: HeadersOut = { headers: {}, sensitive: [] };
  for (const [name, value] of Object.entries(openHeaders(ctx, sealed.headers))) {
    if (SENSITIVE_HEADERS.has(name.toLowerCase())) out.sensitive.push(name);
    else out.headers[name] = value;
  }
  return out;
}

/** The custom headers of an endpoint, opened (for the delivery engine). */
export async function endpointHeaders(
  ctx: ServiceContext,
  endpointId: EndpointId,
  sql: Sql = ctx.db,
): Promise<Record<string, string>> {
  const sealed = await store.findEndpointSealed(sql, endpointId);
  if (!sealed) throw new NotFoundError();
  return openHeaders(ctx, sealed.headers);
}

/** PUT: replaces every custom header. */
export async function setEndpointHeaders(
  ctx: ServiceContext,
  appId: AppId,
  idOrUid: string,
  headers: Record<string, string>,
): Promise<void> {
  const checked = checkHeaders(headers);
  const endpoint = await requireEndpoint(ctx.db, appId, idOrUid);
  await store.updateEndpointHeaders(ctx.db, endpoint.id, sealHeaders(ctx, checked), ctx.clock());
}

/**
 * PATCH: merges `headers` (a `null` value removes that header, as in Svix OSS), then removes
 * the names in `deleteHeaders` (Hosted/SDK). Names match case-insensitively.
 */
export async function patchEndpointHeaders(
  ctx: ServiceContext,
  appId: AppId,
  idOrUid: string,
  patch: { headers: Record<string, string | null>; deleteHeaders?: string[] },
): Promise<void> {
  for (const [name, value] of Object.entries(patch.headers)) {
    const loc = ['body', 'headers', name];
    checkHeaderName(name, loc);
    if (value !== null) checkHeaderValue(value, loc);
  }
  await ctx.db.transaction(async (tx) => {
    const endpoint = await requireEndpoint(tx, appId, idOrUid);
    const now = ctx.clock();
    await store.touchEndpoint(tx, endpoint.id, now);
    const sealed = await store.findEndpointSealed(tx, endpoint.id);
    if (!sealed) throw new NotFoundError();
    const headers = openHeaders(ctx, sealed.headers);
    for (const [name, value] of Object.entries(patch.headers)) {
      if (value === null) removeHeader(headers, name);
      else setHeader(headers, name, value);
    }
    for (const name of patch.deleteHeaders ?? []) removeHeader(headers, name);
    await store.updateEndpointHeaders(tx, endpoint.id, sealHeaders(ctx, headers), now);
  });
}
