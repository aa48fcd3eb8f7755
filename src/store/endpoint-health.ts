import type { EndpointId } from '../core/ids.js';
import type { SecretBox } from '../platform/secret-box.js';
import { fromJson } from './json.js';
import { routingChanged } from './routing-cache.js';
import type { Sql } from './sql.js';

/** Delivery options an endpoint can set beyond Svix's fields (stored in `endpoints.options`). */
export interface EndpointDeliveryOptions {
  /** `fifo`: the next message waits until the previous one succeeded or was given up. */
  ordering?: 'fifo' | 'unordered';
  /** Retry every non-2xx answer, not only 408, 429 and 5xx. */
  retryNon2xx?: boolean;
  /** A seed system's signature scheme, sent alongside the Standard Webhooks headers. */
  legacySignature?: { scheme: 'stripe' | 'github'; header?: string } | null;
}

/** Everything the dispatcher needs to send to one endpoint, secrets opened. */
export interface DeliveryTarget {
  id: EndpointId;
  url: string;
  disabled: boolean;
  throttleRate: number | null;
  appId: string;
  /** The application's throttleRate: messages per second across all its endpoints. */
  appThrottleRate: number | null;
  headers: Record<string, string>;
  /** Current secret first, then rotated-out secrets still in their grace period. */
  keys: string[];
  ordering: 'fifo' | 'unordered';
  retryNon2xx: boolean;
  legacySignature: { scheme: 'stripe' | 'github'; header?: string } | null;
}

interface TargetRow {
  id: string;
  consecutive_failures: number;
  app_id: string;
  app_throttle_rate: number | null;
  url: string;
  disabled: number;
  throttle_rate: number | null;
  headers: string;
  secret: string;
  options: string;
}

/** The endpoint as the dispatcher sees it, or undefined when it or its application was deleted. */
export async function loadDeliveryTarget(
  sql: Sql,
  box: SecretBox,
  id: EndpointId,
  now: number = Date.now(),
): Promise<DeliveryTarget | undefined> {
  return (await readTarget(sql, box, id, now))?.target;
}

interface LoadedTarget {
  target: DeliveryTarget;
  /** The endpoint's failure streak when it was read. */
  failures: number;
  /** The earliest expiry of a rotated-out secret in `target.keys` (+∞ when none). */
  keysChangeAt: number;
}

async function readTarget(
  sql: Sql,
  box: SecretBox,
  id: EndpointId,
  now: number,
): Promise<LoadedTarget | undefined> {
  const row = await sql.get<TargetRow>(
    `SELECT e.id, e.app_id, e.url, e.disabled, e.throttle_rate, e.headers, e.secret, e.options,
       e.consecutive_failures, a.throttle_rate AS app_throttle_rate
     FROM endpoints e JOIN applications a ON a.id = e.app_id
     WHERE e.id = ? AND e.deleted_at IS NULL AND a.deleted_at IS NULL`,
    [id],
  );
  if (!row) return undefined;
  const old = await sql.all<{ secret: string; expires_at: number }>(
    'SELECT secret, expires_at FROM endpoint_old_secrets WHERE endpoint_id = ? AND expires_at > ? ORDER BY expires_at DESC',
    [id, now],
  );
  const options = fromJson<EndpointDeliveryOptions>(row.options) ?? {};
  let keysChangeAt = Number.POSITIVE_INFINITY;
  for (const entry of old) keysChangeAt = Math.min(keysChangeAt, Number(entry.expires_at));
  const target: DeliveryTarget = {
    id: row.id as EndpointId,
    url: row.url,
    disabled: Number(row.disabled) !== 0,
    throttleRate: row.throttle_rate,
    appId: row.app_id,
    appThrottleRate: row.app_throttle_rate,
    headers: JSON.parse(box.open(row.headers)) as Record<string, string>,
    keys: [box.open(row.secret), ...old.map((entry) => box.open(entry.secret))],
    ordering: options.ordering ?? 'unordered',
    retryNon2xx: options.retryNon2xx ?? false,
    legacySignature: options.legacySignature ?? null,
  };
  return { target, failures: Number(row.consecutive_failures), keysChangeAt };
}

// ---------------------------------------------------------------------------------------------
// The delivery-target cache: the engine reads an endpoint's target (two queries and an AES-GCM
// open of its secrets and headers) once per endpoint and `TARGET_TTL_MS`, not once per attempt.
// Every write through this process's store (src/store/endpoints.ts, `recordEndpointOutcome`,
// src/store/applications.ts) drops the entry at once; a change made by another
// process (or by SQL outside the store) is seen within `TARGET_TTL_MS`.

/** How long a cached delivery target is used before it is read again (real time). */
export const TARGET_TTL_MS = 1_000;
const TARGET_CACHE_MAX = 10_000;

interface CachedTarget {
  db: Sql;
  loading: Promise<LoadedTarget | undefined>;
  loaded: LoadedTarget | undefined;
  /** performance.now() after which the entry is read again. */
  expires: number;
  /** The failure streak as far as this process knows (null while loading or unknown). */
  failures: number | null;
  /** This process wrote the streak while the entry was loading: what was read may be older. */
  dirty: boolean;
}

const targetCache = new Map<string, CachedTarget>();
let targetGeneration = 0;

/** Drops the cached delivery target of `id`, or of every endpoint when no id is given. */
export function invalidateDeliveryTarget(id?: string): void {
  targetGeneration++;
  if (id === undefined) targetCache.clear();
  else targetCache.delete(id);
}

/**
 * `loadDeliveryTarget` through the cache: concurrent callers for one endpoint share one read.
 */
export async function cachedDeliveryTarget(
  db: Sql,
  box: SecretBox,
  id: EndpointId,
  now: number,
): Promise<DeliveryTarget | undefined> {
  const at = performance.now();
  let entry = targetCache.get(id);
  if (
    entry !== undefined &&
    (entry.db !== db ||
      entry.expires <= at ||
      (entry.loaded !== undefined && entry.loaded.keysChangeAt <= now))
  ) {
    targetCache.delete(id);
    entry = undefined;
  }
  if (entry === undefined) {
    if (targetCache.size >= TARGET_CACHE_MAX) targetCache.clear();
    const generation = targetGeneration;
    const created: CachedTarget = {
      db,
      loading: readTarget(db, box, id, now),
      loaded: undefined,
      expires: at + TARGET_TTL_MS,
      failures: null,
      dirty: false,
    };
    entry = created;
    targetCache.set(id, created);
    created.loading.then(
      (loaded) => {
        created.loaded = loaded;
        created.failures = created.dirty ? null : (loaded?.failures ?? null);
        // Invalidated while reading: the answer may predate the change; keep it out.
        if (generation !== targetGeneration && targetCache.get(id) === created) {
          targetCache.delete(id);
        }
      },
      () => {
        if (targetCache.get(id) === created) targetCache.delete(id);
      },
    );
  }
  const loaded = await entry.loading;
  return loaded?.target;
}

/**
 * Whether this process knows the endpoint's failure streak to be 0 now, so that a success has
 * nothing to reset. Asked when the outcome is recorded, not when the attempt started: attempts
 * in flight together finish in any order, and a success that started while the streak was 0
 * must still reset the failures recorded while it was on its way.
 */
export function streakKnownClean(id: EndpointId): boolean {
  const entry = targetCache.get(id);
  return entry !== undefined && entry.expires > performance.now() && entry.failures === 0;
}

/**
 * A failure of the endpoint is on its way to the database: until it is written, the streak is
 * not known to be 0 (a success recorded meanwhile must reset it, not skip the write).
 */
export function noteFailureUnderway(id: EndpointId): void {
  const entry = targetCache.get(id);
  if (entry === undefined) return;
  if (entry.loaded !== undefined) entry.failures = null;
  else entry.dirty = true;
}

/** What this process just wrote to an endpoint's failure streak (keeps the cache in step). */
function noteStreak(id: EndpointId, failures: number): void {
  const entry = targetCache.get(id);
  if (entry === undefined) return;
  if (entry.loaded !== undefined) entry.failures = failures;
  else entry.dirty = true;
}

export interface EndpointOutcomeEffects {
  /** The endpoint was disabled by this outcome. */
  disabled: boolean;
  failingSince: number | null;
  consecutiveFailures: number;
}

/**
 * Keeps the endpoint's failure streak: a success resets it; a failure extends it and, at
 * `disableAfter` consecutive failures (or on 410 Gone), disables the endpoint — once.
 */
export async function recordEndpointOutcome(
  sql: Sql,
  id: EndpointId,
  outcome: {
    success: boolean;
    now: number;
    disableAfter: number;
    gone: boolean;
    /** The streak is known to be 0 already: a success changes nothing and writes nothing. */
    cleanStreak?: boolean;
  },
): Promise<EndpointOutcomeEffects> {
  if (outcome.success) {
    if (outcome.cleanStreak === true) {
      return { disabled: false, failingSince: null, consecutiveFailures: 0 };
    }
    noteStreak(id, 0);
    await sql.run(
      'UPDATE endpoints SET consecutive_failures = 0, failing_since = NULL WHERE id = ? AND consecutive_failures > 0',
      [id],
    );
    return { disabled: false, failingSince: null, consecutiveFailures: 0 };
  }
  const row = await sql.get<{
    consecutive_failures: number;
    failing_since: number | null;
    disabled: number;
  }>(
    `UPDATE endpoints SET consecutive_failures = consecutive_failures + 1,
       failing_since = COALESCE(failing_since, ?)
     WHERE id = ? RETURNING consecutive_failures, failing_since, disabled`,
    [outcome.now, id],
  );
  if (!row) return { disabled: false, failingSince: null, consecutiveFailures: 0 };
  const failures = Number(row.consecutive_failures);
  noteStreak(id, failures);
  const shouldDisable = outcome.gone || failures >= outcome.disableAfter;
  let disabled = false;
  if (shouldDisable && Number(row.disabled) === 0) {
    disabled =
      (await sql.run(
        'UPDATE endpoints SET disabled = 1, updated_at = ? WHERE id = ? AND disabled = 0',
        [outcome.now, id],
      )) > 0;
    routingChanged(sql);
    invalidateDeliveryTarget(id);
  }
  return { disabled, failingSince: row.failing_since, consecutiveFailures: failures };
}
