import { AppError, ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import type { AppId } from '../core/ids.js';
import { sourceAppId } from '../inbound/forwarding.js';
import type { Mapping } from '../inbound/mapping.js';
import { getSourceMapping, setSourceMapping } from '../inbound/mappings.js';
import {
  createSource,
  getSource,
  hashToken,
  rotateSourceToken,
  type SourceInput,
  upsertSource,
} from '../inbound/sources.js';
import {
  type ApplicationInput,
  createApplication,
  getApplication,
  upsertApplication,
} from '../outbound/applications.js';
import {
  createEndpoint,
  type EndpointScope,
  type EndpointUpsertInput,
  endpointHeaders,
  getEndpoint,
  getEndpointSecret,
  rotateEndpointSecret,
  setEndpointHeaders,
  upsertEndpoint,
  withDefaults,
} from '../outbound/endpoints.js';
import { type EventTypeInput, getEventType, upsertEventType } from '../outbound/event-types.js';
import { publicKeyFromSigningKey, SIGNING_KEY_PREFIX } from '../outbound/signing.js';
import type { ServiceContext } from '../platform/context.js';
import type { EndpointRecord } from '../store/endpoints.js';
import {
  type ApplicationEndpointDeclaration,
  ConfigFileError,
  type ParsedConfigFile,
  type SourceEndpointDeclaration,
  type YamlPath,
} from './config-file.js';

/**
 * Applies a checked configuration file through the services (never the store, never HTTP), so
 * every rule the API enforces holds for the file too.
 *
 * Idempotent: each declared thing is found by its key (event type `name`, application `uid`,
 * source `uid`, endpoint `uid` within its application or source) and written only when it
 * differs from the file, so applying the same file again writes nothing. Things the file does
 * not declare are left alone, and nothing is ever deleted. Of a declared thing, the file
 * decides every key it can declare (an omitted key takes its default), except `secret`,
 * `headers`, `disabled`, `token` and `mapping`: omitted, they are left as they are (a secret
 * and a token are generated at creation; `disabled` may have been set by auto-disable).
 */

export interface ApplySummary {
  /** What was created or changed, e.g. `source gumroad`, `endpoint gumroad/receiver (secret)`. */
  created: string[];
  updated: string[];
  /** How many declared things already matched the file. */
  unchanged: number;
}

/** A uniqueness race with another process applying the same file: applying again settles it. */
const MAX_PASSES = 3;

export async function applyConfigFile(
  ctx: ServiceContext,
  parsed: ParsedConfigFile,
): Promise<ApplySummary> {
  for (let pass = 1; ; pass++) {
    try {
      return await applyOnce(ctx, parsed);
    } catch (error) {
      const raced = error instanceof ConfigFileError && error.cause instanceof ConflictError;
      if (!raced || pass >= MAX_PASSES) throw error;
    }
  }
}

async function applyOnce(ctx: ServiceContext, parsed: ParsedConfigFile): Promise<ApplySummary> {
  const summary: ApplySummary = { created: [], updated: [], unchanged: 0 };
  const { config } = parsed;

  /**
   * Runs one service call for the thing at `path`; its errors become a ConfigFileError that
   * names the place in the file. `rename` maps the API's field names back to the file's.
   */
  const at = async <T>(
    path: YamlPath,
    work: () => Promise<T>,
    rename: (loc: YamlPath) => YamlPath = (loc) => loc,
  ): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      let issues: { path: YamlPath; message: string }[];
      if (error instanceof ValidationError) {
        issues = error.issues.map((issue) => {
          const loc = issue.loc[0] === 'body' ? issue.loc.slice(1) : issue.loc;
          return { path: [...path, ...rename(loc)], message: issue.msg };
        });
      } else if (error instanceof AppError) {
        issues = [{ path, message: error.detail }];
      } else {
        throw error;
      }
      const wrapped = new ConfigFileError(
        parsed.file,
        issues.map((issue) => ({ ...issue, line: parsed.lineOf(issue.path) })),
      );
      wrapped.cause = error;
      throw wrapped;
    }
  };
  const done = (what: string, outcome: 'created' | 'updated' | 'unchanged') => {
    if (outcome === 'unchanged') summary.unchanged += 1;
    else summary[outcome].push(what);
  };

  // 1. Event types first: endpoint filters may name them.
  for (const [i, decl] of (config.eventTypes ?? []).entries()) {
    const path: YamlPath = ['eventTypes', i];
    const existing = await orUndefined(getEventType(ctx, decl.name));
    const wanted: EventTypeInput = {
      description: decl.description ?? '',
      archived: decl.archived ?? false,
      schemas: decl.schema ? { '1': decl.schema } : null,
      // Not declarable in the file: kept.
      deprecated: existing?.deprecated ?? false,
      featureFlags: existing?.featureFlags ?? null,
      groupName: existing?.groupName ?? null,
    };
    if (
      existing &&
      existing.description === wanted.description &&
      existing.archived === wanted.archived &&
      same(existing.schemas, wanted.schemas)
    ) {
      done(`event type ${decl.name}`, 'unchanged');
      continue;
    }
    await at(
      path,
      () => upsertEventType(ctx, decl.name, wanted),
      (loc) => (loc[0] === 'schemas' ? ['schema'] : loc),
    );
    done(`event type ${decl.name}`, existing ? 'updated' : 'created');
  }

  // 2. Applications and their endpoints (a source's `app:` endpoint may name one).
  for (const [i, decl] of (config.applications ?? []).entries()) {
    const path: YamlPath = ['applications', i];
    const existing = await orUndefined(getApplication(ctx, decl.uid));
    const wanted: ApplicationInput = {
      name: decl.name,
      uid: decl.uid,
      metadata: decl.metadata ?? {},
      throttleRate: decl.throttleRate ?? null,
    };
    let appId: AppId;
    if (!existing) {
      appId = (await at(path, () => createApplication(ctx, wanted))).app.id as AppId;
      done(`application ${decl.uid}`, 'created');
    } else {
      appId = existing.id as AppId;
      if (
        existing.name === wanted.name &&
        existing.throttleRate === wanted.throttleRate &&
        same(existing.metadata, wanted.metadata)
      ) {
        done(`application ${decl.uid}`, 'unchanged');
      } else {
        await at(path, () => upsertApplication(ctx, existing.id, wanted));
        done(`application ${decl.uid}`, 'updated');
      }
    }
    for (const [j, endpoint] of (decl.endpoints ?? []).entries()) {
      await applyEndpoint(appId, endpoint, [...path, 'endpoints', j], `${decl.uid}/`, {});
    }
  }

  // 3. Sources: the source, its token, its mapping, its endpoints.
  for (const [i, decl] of (config.sources ?? []).entries()) {
    const path: YamlPath = ['sources', i];
    const name = `source ${decl.uid}`;
    const existing = await orUndefined(getSource(ctx, decl.uid));
    const input: SourceInput = {
      name: decl.name,
      uid: decl.uid,
      type: decl.type,
      config: decl.config ?? {},
      metadata: decl.metadata ?? {},
    };
    let sourceId: string;
    if (!existing) {
      const { source } = await at(path, () => createSource(ctx, input, { token: decl.token }));
      sourceId = source.id;
      done(name, 'created');
    } else {
      sourceId = existing.id;
      const changes: string[] = [];
      if (
        existing.name !== input.name ||
        existing.type !== input.type ||
        !same(existing.config, input.config) ||
        !same(existing.metadata, input.metadata)
      ) {
        await at(path, () => upsertSource(ctx, existing.id, input));
        changes.push('settings');
      }
      const token = decl.token;
      if (token !== undefined && hashToken(token) !== existing.tokenHash) {
        // The old token keeps working for 48 hours, as with any rotation.
        await at([...path, 'token'], () => rotateSourceToken(ctx, existing.id, { token }));
        changes.push('token rotated');
      }
      if (changes.length > 0) done(`${name} (${changes.join(', ')})`, 'updated');
      else done(name, 'unchanged');
    }
    if (decl.mapping !== undefined) {
      const wanted = decl.mapping as Mapping | null;
      const current = await getSourceMapping(ctx, sourceId);
      if (same(current, wanted)) done(`${name} mapping`, 'unchanged');
      else {
        await at(
          path,
          () => setSourceMapping(ctx, sourceId, wanted),
          (loc) => ['mapping', ...loc],
        );
        done(`${name} mapping`, current === null ? 'created' : 'updated');
      }
    }
    if (decl.endpoints && decl.endpoints.length > 0) {
      const appId = await sourceAppId(ctx, sourceId as Parameters<typeof sourceAppId>[1]);
      for (const [j, endpoint] of decl.endpoints.entries()) {
        // A source endpoint may be a nats:, mailto: or app: destination, and filters on the
        // source's (mapped) event types, which need not be in the outbound catalogue.
        const scope: EndpointScope = { destinations: true, anyEventType: true };
        await applyEndpoint(appId, endpoint, [...path, 'endpoints', j], `${decl.uid}/`, scope);
      }
    }
  }
  return summary;

  async function applyEndpoint(
    appId: AppId,
    decl: ApplicationEndpointDeclaration | SourceEndpointDeclaration,
    path: YamlPath,
    prefix: string,
    scope: EndpointScope,
  ): Promise<void> {
    const name = `endpoint ${prefix}${decl.uid}`;
    const renames: Record<string, string> = {
      eventTypes: 'filterTypes',
      throttleRate: 'rateLimit',
      key: 'secret',
    };
    const rename = (loc: YamlPath): YamlPath => {
      const field = loc[0];
      const renamed = typeof field === 'string' ? renames[field] : undefined;
      return renamed ? [renamed, ...loc.slice(1)] : loc;
    };
    const existing = await orUndefined(getEndpoint(ctx, appId, decl.uid));
    const options = withDefaults(existing?.options);
    const wanted: EndpointUpsertInput = {
      uid: decl.uid,
      url: decl.url,
      description: decl.description ?? '',
      eventTypes: decl.filterTypes ?? null,
      channels: 'channels' in decl ? (decl.channels ?? null) : null,
      throttleRate: decl.rateLimit ?? null,
      disabled: decl.disabled ?? existing?.disabled ?? false,
      // Not declarable in the file: kept.
      metadata: existing?.metadata ?? {},
      version: existing?.version ?? 1,
      ordering: options.ordering,
      retryNon2xx: options.retryNon2xx,
      legacySignature: options.legacySignature,
    };
    if (!existing) {
      await at(
        path,
        () =>
          createEndpoint(
            ctx,
            appId,
            { ...wanted, secret: decl.secret ?? null, headers: decl.headers ?? null },
            scope,
          ),
        rename,
      );
      done(name, 'created');
      return;
    }
    const changes: string[] = [];
    if (!endpointMatches(existing, wanted)) {
      await at(path, () => upsertEndpoint(ctx, appId, existing.id, wanted, scope), rename);
      changes.push('settings');
    }
    if (decl.secret !== undefined) {
      const shown = decl.secret.startsWith(SIGNING_KEY_PREFIX)
        ? publicKeyFromSigningKey(decl.secret)
        : decl.secret;
      if ((await getEndpointSecret(ctx, appId, existing.id)) !== shown) {
        // The old secret keeps signing for the usual grace period (24 h).
        const key = decl.secret;
        await at(path, () => rotateEndpointSecret(ctx, appId, existing.id, { key }), rename);
        changes.push('secret rotated');
      }
    }
    if (decl.headers !== undefined) {
      const headers = decl.headers;
      if (!same(await endpointHeaders(ctx, existing.id), headers)) {
        await at(path, () => setEndpointHeaders(ctx, appId, existing.id, headers), rename);
        changes.push('headers');
      }
    }
    if (changes.length > 0) done(`${name} (${changes.join(', ')})`, 'updated');
    else done(name, 'unchanged');
  }
}

function endpointMatches(existing: EndpointRecord, wanted: EndpointUpsertInput): boolean {
  return (
    sameUrl(existing.url, wanted.url) &&
    existing.description === wanted.description &&
    same(existing.eventTypes, wanted.eventTypes ?? null) &&
    same(existing.channels, wanted.channels ?? null) &&
    existing.throttleRate === (wanted.throttleRate ?? null) &&
    existing.disabled === wanted.disabled
  );
}

/** http(s) URLs are stored normalised (`https://a.com` → `https://a.com/`); others as written. */
function sameUrl(stored: string, declared: string): boolean {
  if (stored === declared) return true;
  if (!/^https?:/i.test(declared) || !URL.canParse(declared)) return false;
  return new URL(declared).toString() === stored;
}

async function orUndefined<T>(lookup: Promise<T>): Promise<T | undefined> {
  try {
    return await lookup;
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/** Deep equality of JSON values, whatever the order of object keys. */
function same(a: unknown, b: unknown): boolean {
  return canonical(a ?? null) === canonical(b ?? null);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** One line for the log: what the file changed. */
export function describeSummary(summary: ApplySummary): string {
  const parts = [
    summary.created.length > 0 ? `created ${summary.created.join(', ')}` : '',
    summary.updated.length > 0 ? `updated ${summary.updated.join(', ')}` : '',
    `${summary.unchanged} unchanged`,
  ].filter((part) => part !== '');
  return parts.join('; ');
}
