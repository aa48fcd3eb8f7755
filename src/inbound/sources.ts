import { createHash, randomBytes } from 'node:crypto';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { checkUid } from '../outbound/applications.js';
import type { ServiceContext } from '../platform/context.js';
import { deleteInternalApplication } from '../store/applications.js';
import type {
  InboundEventRecord,
  InboundEventStatus,
  InboundEventSummary,
} from '../store/inbound-events.js';
import * as events from '../store/inbound-events.js';
import type { Page, PageRequest } from '../store/pagination.js';
import type { SourceId, SourceRecord } from '../store/sources.js';
import * as store from '../store/sources.js';
import { type Sql, UniqueViolation } from '../store/sql.js';
import { SOURCE_APP_PREFIX } from './forwarding.js';
import { findProvider } from './providers/index.js';
import type { Provider } from './providers/types.js';

export type SourceConfig = Record<string, unknown>;

export interface SourceInput {
  name: string;
  uid?: string | null;
  type: string;
  config?: SourceConfig | null;
  metadata?: Record<string, string>;
}

/** A source as the API shows it: config opened, secrets still in it (the wire mapper drops them). */
export interface Source extends Omit<SourceRecord, 'sealedConfig' | 'sealedToken'> {
  config: SourceConfig;
  ingestUrl: string;
}

/** How long a rotated-out token keeps working (Svix: "valid for 48 hours after rotation"). */
export const PREVIOUS_TOKEN_GRACE_MS = 48 * 60 * 60 * 1000;

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** The largest `maxBodyBytes` a source may set; also the receiving route's hard body limit. */
export const MAX_BODY_BYTES_LIMIT = 16 * 1024 * 1024;
export const DEFAULT_DEDUP_WINDOW_SECONDS = 24 * 60 * 60;
const MAX_DEDUP_WINDOW_SECONDS = 30 * 24 * 60 * 60;

/**
 * Receiving settings that every source accepts in its `config`, beside the provider's own
 * fields (unless the provider's schema declares a field of that name itself).
 */
const SETTINGS: Record<string, { min: number; max: number }> = {
  maxBodyBytes: { min: 1, max: MAX_BODY_BYTES_LIMIT },
  dedupWindowSeconds: { min: 0, max: MAX_DEDUP_WINDOW_SECONDS },
  toleranceSeconds: { min: 0, max: 7 * 24 * 60 * 60 },
};

export interface SourceSettings {
  maxBodyBytes: number;
  dedupWindowSeconds: number;
  toleranceSeconds: number | undefined;
}

const SOURCE_CONFLICT = 'A source with that id or uid already exists';

function declaredFields(schema: TSchema): Set<string> {
  const properties = (schema as { properties?: Record<string, unknown> }).properties;
  return new Set(properties ? Object.keys(properties) : []);
}

/** Splits a source config into the provider's part and the receiving settings. */
export function splitConfig(
  provider: Provider,
  config: SourceConfig,
): { providerConfig: SourceConfig; settings: SourceSettings } {
  const declared = declaredFields(provider.configSchema);
  const providerConfig: SourceConfig = {};
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key in SETTINGS && !declared.has(key)) raw[key] = value;
    else providerConfig[key] = value;
  }
  const number = (key: string) => (typeof raw[key] === 'number' ? (raw[key] as number) : undefined);
  return {
    providerConfig,
    settings: {
      maxBodyBytes: number('maxBodyBytes') ?? DEFAULT_MAX_BODY_BYTES,
      dedupWindowSeconds: number('dedupWindowSeconds') ?? DEFAULT_DEDUP_WINDOW_SECONDS,
      // A provider may declare `toleranceSeconds` in its own schema: it is the same setting.
      toleranceSeconds:
        (typeof config.toleranceSeconds === 'number' ? config.toleranceSeconds : undefined) ??
        provider.defaultToleranceSeconds,
    },
  };
}

/** The provider of `type`, or a 422 at `["body","type"]`. */
export function requireProvider(type: string): Provider {
  const provider = findProvider(type);
  if (!provider) throw ValidationError.at(['body', 'type'], `Unknown source type: ${type}`);
  return provider;
}

/** Validates `config` against the provider's schema and the receiving settings (422s). */
export function validateConfig(provider: Provider, config: SourceConfig): void {
  const declared = declaredFields(provider.configSchema);
  const issues: ValidationError['issues'] = [];
  const providerPart: SourceConfig = {};
  for (const [key, value] of Object.entries(config)) {
    const setting = SETTINGS[key];
    if (setting && !declared.has(key)) {
      if (
        typeof value !== 'number' ||
        !Number.isInteger(value) ||
        value < setting.min ||
        value > setting.max
      ) {
        issues.push({
          loc: ['body', 'config', key],
          msg: `must be an integer from ${setting.min} to ${setting.max}`,
          type: 'value_error',
        });
      }
    } else {
      providerPart[key] = value;
    }
  }
  for (const error of Value.Errors(provider.configSchema, providerPart)) {
    const path = error.path
      .split('/')
      .slice(1)
      .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
    issues.push({ loc: ['body', 'config', ...path], msg: error.message, type: 'value_error' });
    if (issues.length >= 20) break;
  }
  if (issues.length > 0) throw new ValidationError(issues);
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What a generated token looks like (32 random bytes, base64url); a chosen one must too. */
export const INGEST_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Options of create/upsert/rotate: `token` fixes the ingest token (the declarative config). */
export interface SourceTokenOptions {
  token?: string;
}

/**
 * A caller-chosen token: well formed, and not the current or in-grace token of another source
 * (409). `sourceId` is the source it is for, when it exists.
 */
async function checkChosenToken(
  ctx: ServiceContext,
  token: string,
  sourceId: SourceId | undefined,
): Promise<void> {
  if (!INGEST_TOKEN_PATTERN.test(token)) {
    throw ValidationError.at(['body', 'token'], 'A token is 43 base64url characters.');
  }
  const owner = await store.findSourceByTokenHash(ctx.db, hashToken(token), ctx.clock());
  if (owner && owner.id !== sourceId) {
    throw new ConflictError('Another source uses that ingest token');
  }
}

/** A unique violation on a chosen token that no live source answers to: another source's previous token. */
async function tokenConflict<T>(chosen: boolean, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (chosen && error instanceof UniqueViolation) {
      throw new ConflictError(
        'That ingest token is still held by another source (as its previous token)',
      );
    }
    throw error;
  }
}

export function ingestUrlOf(ctx: ServiceContext, token: string): string {
  return `${ctx.config.publicUrl}/in/${token}`;
}

/**
 * Opens a stored source. The ingest URL is shown on every read, not only at creation and
 * rotation: the token is kept sealed beside its hash for exactly that. Like Svix's, the URL is
 * a secret that authenticates a provider that signs nothing (Gumroad), so it is only ever
 * shown to an organisation-level key; receiving uses the hash alone.
 */
export function openSource(ctx: ServiceContext, record: SourceRecord): Source {
  const { sealedConfig, sealedToken, ...rest } = record;
  return {
    ...rest,
    config: JSON.parse(ctx.box.open(sealedConfig)) as SourceConfig,
    ingestUrl: ingestUrlOf(ctx, ctx.box.open(sealedToken)),
  };
}

async function conflictOnUid<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof UniqueViolation) throw new ConflictError(SOURCE_CONFLICT);
    throw error;
  }
}

function checkInput(input: SourceInput): { config: SourceConfig } {
  checkUid(input.uid, 'src_', ['body', 'uid']);
  const provider = requireProvider(input.type);
  const config = input.config ?? {};
  validateConfig(provider, config);
  return { config };
}

export async function requireSource(sql: Sql, idOrUid: string): Promise<SourceRecord> {
  const source = await store.findSource(sql, idOrUid);
  if (!source) throw new NotFoundError('Source not found');
  return source;
}

export async function createSource(
  ctx: ServiceContext,
  input: SourceInput,
  options: SourceTokenOptions = {},
): Promise<{ source: Source; created: boolean }> {
  const { config } = checkInput(input);
  if (input.uid && (await store.findSource(ctx.db, input.uid))) {
    throw new ConflictError(SOURCE_CONFLICT);
  }
  if (options.token !== undefined) await checkChosenToken(ctx, options.token, undefined);
  const now = ctx.clock();
  const token = options.token ?? newToken();
  const record: SourceRecord = {
    id: newId('source', now),
    uid: input.uid ?? null,
    name: input.name,
    type: input.type,
    sealedConfig: ctx.box.seal(JSON.stringify(config)),
    sealedToken: ctx.box.seal(token),
    tokenHash: hashToken(token),
    previousTokenHash: null,
    previousTokenExpiresAt: null,
    metadata: input.metadata ?? {},
    createdAt: now,
    updatedAt: now,
  };
  await conflictOnUid(() =>
    tokenConflict(options.token !== undefined, () => store.insertSource(ctx.db, record)),
  );
  return { source: openSource(ctx, record), created: true };
}

/**
 * PUT: a full replace (the token stays: `options.token` is only used when creating), or a
 * create when nothing matches.
 */
export async function upsertSource(
  ctx: ServiceContext,
  idOrUid: string,
  input: SourceInput,
  options: SourceTokenOptions = {},
): Promise<{ source: Source; created: boolean }> {
  const { config } = checkInput(input);
  const existing = await store.findSource(ctx.db, idOrUid);
  if (!existing) return createSource(ctx, input, options);
  const record: SourceRecord = {
    ...existing,
    uid: input.uid ?? null,
    name: input.name,
    type: input.type,
    sealedConfig: ctx.box.seal(JSON.stringify(config)),
    metadata: input.metadata ?? {},
    updatedAt: ctx.clock(),
  };
  await conflictOnUid(() => store.updateSource(ctx.db, record));
  return { source: openSource(ctx, record), created: false };
}

export async function getSource(ctx: ServiceContext, idOrUid: string): Promise<Source> {
  return openSource(ctx, await requireSource(ctx.db, idOrUid));
}

export async function deleteSource(ctx: ServiceContext, idOrUid: string): Promise<SourceId> {
  const source = await requireSource(ctx.db, idOrUid);
  const now = ctx.clock();
  await ctx.db.transaction(async (tx) => {
    await store.deleteSource(tx, source.id, now);
    // Its forwarding endpoints live in a hidden application: deleting that ends their
    // deliveries too (the dispatcher sends nothing for a deleted application).
    await deleteInternalApplication(tx, `${SOURCE_APP_PREFIX}${source.id}`, now);
  });
  return source.id;
}

export async function listSources(
  ctx: ServiceContext,
  request: PageRequest,
): Promise<Page<Source>> {
  const page = await store.listSources(ctx.db, request);
  return { ...page, data: page.data.map((record) => openSource(ctx, record)) };
}

/**
 * A new token (`options.token`, or generated); the current one keeps working for 48 h. Only one
 * previous token is kept, so a second rotation within the grace period ends the first token's
 * grace at once. Rotating to the current token changes nothing.
 */
export async function rotateSourceToken(
  ctx: ServiceContext,
  idOrUid: string,
  options: SourceTokenOptions = {},
): Promise<{ sourceId: SourceId; ingestUrl: string }> {
  const source = await requireSource(ctx.db, idOrUid);
  if (options.token !== undefined) {
    await checkChosenToken(ctx, options.token, source.id);
    if (hashToken(options.token) === source.tokenHash) {
      return { sourceId: source.id, ingestUrl: ingestUrlOf(ctx, options.token) };
    }
  }
  const now = ctx.clock();
  const token = options.token ?? newToken();
  await tokenConflict(options.token !== undefined, () =>
    store.updateSourceToken(
      ctx.db,
      source.id,
      {
        sealedToken: ctx.box.seal(token),
        tokenHash: hashToken(token),
        previousTokenHash: source.tokenHash,
        previousTokenExpiresAt: now + PREVIOUS_TOKEN_GRACE_MS,
      },
      now,
    ),
  );
  return { sourceId: source.id, ingestUrl: ingestUrlOf(ctx, token) };
}

// --- the event log (beyond Svix) ---

export async function listSourceEvents(
  ctx: ServiceContext,
  idOrUid: string,
  request: PageRequest & { status?: InboundEventStatus },
): Promise<Page<InboundEventSummary>> {
  const source = await requireSource(ctx.db, idOrUid);
  return events.listInboundEvents(ctx.db, source.id, request);
}

export async function getSourceEvent(
  ctx: ServiceContext,
  idOrUid: string,
  eventId: string,
): Promise<InboundEventRecord & { bodySize: number }> {
  const source = await requireSource(ctx.db, idOrUid);
  const event = await events.findInboundEvent(ctx.db, source.id, eventId);
  if (!event) throw new NotFoundError('Event not found');
  return event;
}
