import { Ajv } from 'ajv';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import type { ServiceContext } from '../platform/context.js';
import type { EventTypeListRequest, EventTypeRecord } from '../store/event-types.js';
import * as store from '../store/event-types.js';
import type { Page } from '../store/pagination.js';
import { type Sql, UniqueViolation } from '../store/sql.js';

export interface EventTypeInput {
  description: string;
  archived?: boolean;
  deprecated?: boolean;
  schemas?: Record<string, unknown> | null;
  featureFlags?: string[] | null;
  groupName?: string | null;
}

/** Absent = unchanged, `null` = cleared. */
export type EventTypePatch = Partial<EventTypeInput>;

/** What the caller may see: a key without feature flags sees only unflagged event types. */
export interface EventTypeVisibility {
  withoutFeatureFlags?: boolean;
}

const EXISTS = 'An event_type with this name already exists';

// Only used to check that `schemas` holds valid JSON Schemas (Draft 7, Ajv's default).
const metaValidator = new Ajv({ strict: false });

function knownMetaSchema(uri: string): boolean {
  try {
    return metaValidator.getSchema(uri) !== undefined;
  } catch {
    return false;
  }
}

function checkSchemas(schemas: Record<string, unknown> | null | undefined): void {
  if (!schemas) return;
  for (const [version, schema] of Object.entries(schemas)) {
    const invalid = (reason: string) =>
      ValidationError.at(['body', 'schemas', version], `Invalid JSON Schema: ${reason}`);
    if (typeof schema === 'boolean') continue;
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
      throw invalid('a schema must be an object');
    }
    const meta = (schema as { $schema?: unknown }).$schema;
    if (meta !== undefined && typeof meta !== 'string') throw invalid('$schema must be a string');
    // A schema written for another draft is not ours to judge.
    if (typeof meta === 'string' && !knownMetaSchema(meta)) continue;
    if (!metaValidator.validateSchema(schema)) {
      throw invalid(metaValidator.errorsText(metaValidator.errors, { dataVar: 'schema' }));
    }
  }
}

function conflictOnName<T>(work: () => Promise<T>): Promise<T> {
  return work().catch((error: unknown) => {
    if (error instanceof UniqueViolation) throw new ConflictError(EXISTS, 'event_type_exists');
    throw error;
  });
}

function fresh(name: string, input: EventTypeInput, now: number): EventTypeRecord {
  return {
    name,
    description: input.description,
    archived: input.archived ?? false,
    deprecated: input.deprecated ?? false,
    schemas: input.schemas ?? null,
    featureFlags: input.featureFlags ?? null,
    groupName: input.groupName ?? null,
    createdAt: now,
    updatedAt: now,
  };
}

function visible(eventType: EventTypeRecord, visibility: EventTypeVisibility): boolean {
  return !visibility.withoutFeatureFlags || eventType.featureFlags === null;
}

/**
 * Creates an event type. An archived one of the same name is unarchived and overwritten with
 * the body (description and schemas are not preserved); a live one is a 409.
 */
export async function createEventType(
  ctx: ServiceContext,
  name: string,
  input: EventTypeInput,
): Promise<EventTypeRecord> {
  checkSchemas(input.schemas);
  return conflictOnName(() =>
    ctx.db.transaction(async (tx) => {
      const now = ctx.clock();
      const existing = await store.findEventType(tx, name);
      if (existing && !existing.archived) throw new ConflictError(EXISTS, 'event_type_exists');
      if (existing) {
        const revived = { ...fresh(name, input, now), createdAt: existing.createdAt };
        await store.updateEventType(tx, revived);
        return revived;
      }
      const created = fresh(name, input, now);
      await store.insertEventType(tx, created);
      return created;
    }),
  );
}

/** PUT: a full replace of an existing event type (archived too), or a create. */
export async function upsertEventType(
  ctx: ServiceContext,
  name: string,
  input: EventTypeInput,
): Promise<{ eventType: EventTypeRecord; created: boolean }> {
  checkSchemas(input.schemas);
  return conflictOnName(() =>
    ctx.db.transaction(async (tx) => {
      const now = ctx.clock();
      const existing = await store.findEventType(tx, name);
      if (!existing) {
        const created = fresh(name, input, now);
        await store.insertEventType(tx, created);
        return { eventType: created, created: true };
      }
      const replaced = { ...fresh(name, input, now), createdAt: existing.createdAt };
      await store.updateEventType(tx, replaced);
      return { eventType: replaced, created: false };
    }),
  );
}

export async function patchEventType(
  ctx: ServiceContext,
  name: string,
  patch: EventTypePatch,
): Promise<EventTypeRecord> {
  checkSchemas(patch.schemas);
  return ctx.db.transaction(async (tx) => {
    const existing = await requireEventType(tx, name);
    const patched: EventTypeRecord = {
      ...existing,
      description: patch.description ?? existing.description,
      archived: patch.archived ?? existing.archived,
      deprecated: patch.deprecated ?? existing.deprecated,
      schemas: patch.schemas === undefined ? existing.schemas : patch.schemas,
      featureFlags: patch.featureFlags === undefined ? existing.featureFlags : patch.featureFlags,
      groupName: patch.groupName === undefined ? existing.groupName : patch.groupName,
      updatedAt: ctx.clock(),
    };
    await store.updateEventType(tx, patched);
    return patched;
  });
}

export async function requireEventType(sql: Sql, name: string): Promise<EventTypeRecord> {
  const found = await store.findEventType(sql, name);
  if (!found) throw new NotFoundError();
  return found;
}

export async function getEventType(
  ctx: ServiceContext,
  name: string,
  visibility: EventTypeVisibility = {},
): Promise<EventTypeRecord> {
  const found = await requireEventType(ctx.db, name);
  if (!visible(found, visibility)) throw new NotFoundError();
  return found;
}

/** Archives by default (hidden from lists, refused in new endpoint filters); `expunge` deletes. */
export async function deleteEventType(
  ctx: ServiceContext,
  name: string,
  expunge: boolean,
): Promise<void> {
  if (expunge) {
    if ((await store.expungeEventType(ctx.db, name)) === 0) throw new NotFoundError();
    return;
  }
  await ctx.db.transaction(async (tx) => {
    const existing = await requireEventType(tx, name);
    await store.updateEventType(tx, { ...existing, archived: true, updatedAt: ctx.clock() });
  });
}

export function listEventTypes(
  ctx: ServiceContext,
  request: EventTypeListRequest,
): Promise<Page<EventTypeRecord>> {
  return store.listEventTypes(ctx.db, request);
}

/**
 * Endpoint filters may only name existing, non-archived event types:
 * 422 `The following event types don't exist: a, b` otherwise.
 */
export async function requireAvailableEventTypes(
  sql: Sql,
  names: readonly string[] | null | undefined,
  loc: (string | number)[],
): Promise<void> {
  if (!names || names.length === 0) return;
  const missing = await store.unavailableEventTypes(sql, names);
  if (missing.length > 0) {
    throw ValidationError.at(loc, `The following event types don't exist: ${missing.join(', ')}`);
  }
}
