import type { EndpointId } from '../core/ids.js';
import type { SecretBox } from '../platform/secret-box.js';
import { fromJson } from './json.js';
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
  const row = await sql.get<TargetRow>(
    `SELECT e.id, e.app_id, e.url, e.disabled, e.throttle_rate, e.headers, e.secret, e.options,
       a.throttle_rate AS app_throttle_rate
     FROM endpoints e JOIN applications a ON a.id = e.app_id
     WHERE e.id = ? AND e.deleted_at IS NULL AND a.deleted_at IS NULL`,
    [id],
  );
  if (!row) return undefined;
  const old = await sql.all<{ secret: string }>(
    'SELECT secret FROM endpoint_old_secrets WHERE endpoint_id = ? AND expires_at > ? ORDER BY expires_at DESC',
    [id, now],
  );
  const options = fromJson<EndpointDeliveryOptions>(row.options) ?? {};
  return {
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
  outcome: { success: boolean; now: number; disableAfter: number; gone: boolean },
): Promise<EndpointOutcomeEffects> {
  if (outcome.success) {
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
  const shouldDisable = outcome.gone || failures >= outcome.disableAfter;
  let disabled = false;
  if (shouldDisable && Number(row.disabled) === 0) {
    disabled =
      (await sql.run(
        'UPDATE endpoints SET disabled = 1, updated_at = ? WHERE id = ? AND disabled = 0',
        [outcome.now, id],
      )) > 0;
  }
  return { disabled, failingSince: row.failing_since, consecutiveFailures: failures };
}
