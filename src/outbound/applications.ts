import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { type AppId, newId } from '../core/ids.js';
import type { ServiceContext } from '../platform/context.js';
import type { ApplicationRecord } from '../store/applications.js';
import * as store from '../store/applications.js';
import type { Page, PageRequest } from '../store/pagination.js';
import { type Sql, UniqueViolation } from '../store/sql.js';

export interface ApplicationInput {
  name: string;
  uid?: string | null;
  throttleRate?: number | null;
  metadata?: Record<string, string>;
}

/** Absent = unchanged, `null` = cleared. */
export type ApplicationPatch = Partial<ApplicationInput>;

const APP_CONFLICT = 'An application with that id or uid already exists';

/** Svix refuses uids that look like ids, so `{app_id}` lookups can never be ambiguous. */
export function checkUid(
  uid: string | null | undefined,
  prefix: string,
  loc: (string | number)[],
): void {
  if (uid?.startsWith(prefix)) {
    throw ValidationError.at(
      loc,
      'Uids are not allowed to have the same prefix as the ID. Prefix with _?',
    );
  }
}

async function conflictOnUid<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof UniqueViolation) throw new ConflictError(APP_CONFLICT);
    throw error;
  }
}

export async function requireApplication(sql: Sql, idOrUid: string): Promise<ApplicationRecord> {
  const app = await store.findApplication(sql, idOrUid);
  if (!app) throw new NotFoundError('Application not found');
  return app;
}

export async function createApplication(
  ctx: ServiceContext,
  input: ApplicationInput,
  options: { getIfExists?: boolean; sql?: Sql } = {},
): Promise<{ app: ApplicationRecord; created: boolean }> {
  checkUid(input.uid, 'app_', ['body', 'uid']);
  const sql = options.sql ?? ctx.db;
  if (input.uid) {
    const existing = await store.findApplication(sql, input.uid);
    if (existing) {
      if (options.getIfExists) return { app: existing, created: false };
      throw new ConflictError(APP_CONFLICT);
    }
  }
  const now = ctx.clock();
  const app: ApplicationRecord = {
    id: newId('application', now),
    uid: input.uid ?? null,
    name: input.name,
    throttleRate: input.throttleRate ?? null,
    metadata: input.metadata ?? {},
    createdAt: now,
    updatedAt: now,
  };
  await conflictOnUid(() => store.insertApplication(sql, app));
  return { app, created: true };
}

/** PUT: a full replace of an existing application, or a create when nothing matches. */
export async function upsertApplication(
  ctx: ServiceContext,
  idOrUid: string,
  input: ApplicationInput,
): Promise<{ app: ApplicationRecord; created: boolean }> {
  checkUid(input.uid, 'app_', ['body', 'uid']);
  const existing = await store.findApplication(ctx.db, idOrUid);
  if (!existing) return createApplication(ctx, input);
  const app: ApplicationRecord = {
    ...existing,
    uid: input.uid ?? null,
    name: input.name,
    throttleRate: input.throttleRate ?? null,
    metadata: input.metadata ?? {},
    updatedAt: ctx.clock(),
  };
  await conflictOnUid(() => store.updateApplication(ctx.db, app));
  return { app, created: false };
}

export async function patchApplication(
  ctx: ServiceContext,
  idOrUid: string,
  patch: ApplicationPatch,
): Promise<ApplicationRecord> {
  checkUid(patch.uid, 'app_', ['body', 'uid']);
  const existing = await requireApplication(ctx.db, idOrUid);
  const app: ApplicationRecord = {
    ...existing,
    name: patch.name ?? existing.name,
    uid: patch.uid === undefined ? existing.uid : patch.uid,
    throttleRate: patch.throttleRate === undefined ? existing.throttleRate : patch.throttleRate,
    metadata: patch.metadata ?? existing.metadata,
    updatedAt: ctx.clock(),
  };
  await conflictOnUid(() => store.updateApplication(ctx.db, app));
  return app;
}

export async function getApplication(
  ctx: ServiceContext,
  idOrUid: string,
): Promise<ApplicationRecord> {
  return requireApplication(ctx.db, idOrUid);
}

export async function deleteApplication(ctx: ServiceContext, idOrUid: string): Promise<void> {
  const app = await requireApplication(ctx.db, idOrUid);
  await store.deleteApplication(ctx.db, app.id as AppId, ctx.clock());
}

export function listApplications(
  ctx: ServiceContext,
  request: PageRequest,
): Promise<Page<ApplicationRecord>> {
  return store.listApplications(ctx.db, request);
}
