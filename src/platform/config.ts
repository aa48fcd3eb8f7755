import { dirname, resolve } from 'node:path';

/** Everything Switchboard reads from its environment, parsed and checked once at start. */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  /** Where generated files (SQLite database, master key) live. */
  dataDir: string;
  adminToken: string | undefined;
  role: 'all' | 'api' | 'worker';
  retryScheduleSeconds: number[];
  allowedNetworks: string[];
  masterKey: string | undefined;
  /** NATS_URL: the server `nats:SUBJECT` source endpoints publish to (JetStream). */
  natsUrl: string | undefined;
  /** SWITCHBOARD_SMTP_URL (`smtp://user:pass@host:587`, `smtps://…`): mailto: endpoints use SMTP. */
  smtpUrl: string | undefined;
  /** SWITCHBOARD_POSTMARK_TOKEN: without SMTP, mailto: endpoints use Postmark's HTTP API. */
  postmarkToken: string | undefined;
  /** SWITCHBOARD_POSTMARK_URL: Postmark's API base (default https://api.postmarkapp.com). */
  postmarkUrl: string;
  /** SWITCHBOARD_POSTMARK_STREAM: the Postmark MessageStream (Postmark's default when unset). */
  postmarkStream: string | undefined;
  /** SWITCHBOARD_EMAIL_FROM: the From address of emails (default switchboard@localhost). */
  emailFrom: string;
  publicUrl: string;
  configFile: string | undefined;
  logLevel: string;
  /** Largest accepted API request body, in bytes. */
  bodyLimitBytes: number;
  /**
   * SWITCHBOARD_SQLITE_SYNCHRONOUS: `FULL` (default) syncs the WAL at every commit, so a 2xx
   * survives power loss; `NORMAL` survives a process crash (SIGKILL) but may lose the last
   * commits on power loss or an OS crash, for fewer fsyncs. Ignored on PostgreSQL.
   */
  sqliteSynchronous: 'FULL' | 'NORMAL';
  /** How long a worker's claim on a delivery lasts (keep well above the 15 s deadline). */
  leaseMs: number;
  /** Longest idle sleep of a worker when no notification arrives. */
  idlePollMs: number;
  /** Consecutive failed attempts after which an endpoint is disabled. */
  disableAfterFailures: number;
  /**
   * SWITCHBOARD_SENDER_THREAD: `true` (default) makes the HTTP attempts on a worker thread of
   * their own (see docs/delivery.md); `false` on the event loop.
   */
  senderThread: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const DEFAULT_RETRY_SCHEDULE = [0, 30, 300, 1800, 21600, 86400];

function parseInteger(name: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function parseBoolean(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function parseSqliteSynchronous(raw: string | undefined): 'FULL' | 'NORMAL' {
  const value = nonEmpty(raw)?.toUpperCase() ?? 'FULL';
  if (value !== 'FULL' && value !== 'NORMAL') {
    throw new ConfigError(`SWITCHBOARD_SQLITE_SYNCHRONOUS must be FULL or NORMAL, got "${raw}"`);
  }
  return value;
}

export function parseRetrySchedule(raw: string): number[] {
  const parts = raw.split(',').map((part) => part.trim());
  if (parts.length === 0 || parts.some((part) => part === '')) {
    throw new ConfigError(
      `SWITCHBOARD_RETRY_SCHEDULE must be comma-separated seconds, got "${raw}"`,
    );
  }
  // Whole seconds, or fractions down to the millisecond (`0,0.2,0.2` for fast tests).
  return parts.map((part) => {
    const value = Number(part);
    if (!/^\d+(\.\d{1,3})?$/.test(part) || value > 30 * 86400) {
      throw new ConfigError(
        `SWITCHBOARD_RETRY_SCHEDULE delays must be seconds between 0 and ${30 * 86400} (at most 3 decimals), got "${part}"`,
      );
    }
    return value;
  });
}

/** A bare address (`a@b.c`) or a display form (`Name <a@b.c>`); no line breaks. */
function parseEmailFrom(raw: string | undefined): string {
  const value = nonEmpty(raw) ?? 'switchboard@localhost';
  const address = /<([^<>]+)>\s*$/.exec(value)?.[1] ?? value;
  if (/[\r\n]/.test(value) || !/^[^\s@<>]+@[^\s@<>]+$/.test(address)) {
    throw new ConfigError(`SWITCHBOARD_EMAIL_FROM must be an email address, got "${value}"`);
  }
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function parseUrlSetting(
  name: string,
  raw: string | undefined,
  protocols: readonly string[],
): string | undefined {
  const value = nonEmpty(raw);
  if (value === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(`${name} must be a URL (${protocols.join(' or ')}), got an invalid one`);
  }
  if (!protocols.includes(parsed.protocol.slice(0, -1))) {
    // Not echoed: the URL may carry credentials.
    throw new ConfigError(
      `${name} must be a ${protocols.join(' or ')} URL, got "${parsed.protocol}"`,
    );
  }
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = parseInteger('PORT', env.PORT ?? '8080', 0, 65535);
  const databaseUrl = nonEmpty(env.DATABASE_URL) ?? 'sqlite:./data/switchboard.db';
  if (!databaseUrl.startsWith('sqlite:') && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(`DATABASE_URL must be sqlite:PATH or postgres://…, got "${databaseUrl}"`);
  }
  const sqlitePath = databaseUrl.startsWith('sqlite:') ? databaseUrl.slice('sqlite:'.length) : '';
  const dataDir = resolve(
    nonEmpty(env.SWITCHBOARD_DATA_DIR) ??
      (sqlitePath && sqlitePath !== ':memory:' ? dirname(sqlitePath) : './data'),
  );
  const role = env.SWITCHBOARD_ROLE ?? 'all';
  if (role !== 'all' && role !== 'api' && role !== 'worker') {
    throw new ConfigError(`SWITCHBOARD_ROLE must be all, api or worker, got "${role}"`);
  }
  const allowedNetworks = (env.SWITCHBOARD_ALLOWED_NETWORKS ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  return {
    port,
    host: nonEmpty(env.HOST) ?? '0.0.0.0',
    databaseUrl,
    dataDir,
    adminToken: nonEmpty(env.SWITCHBOARD_ADMIN_TOKEN),
    role,
    retryScheduleSeconds: env.SWITCHBOARD_RETRY_SCHEDULE
      ? parseRetrySchedule(env.SWITCHBOARD_RETRY_SCHEDULE)
      : DEFAULT_RETRY_SCHEDULE,
    allowedNetworks,
    masterKey: nonEmpty(env.SWITCHBOARD_MASTER_KEY),
    natsUrl: nonEmpty(env.NATS_URL),
    smtpUrl: parseUrlSetting('SWITCHBOARD_SMTP_URL', env.SWITCHBOARD_SMTP_URL, ['smtp', 'smtps']),
    postmarkToken: nonEmpty(env.SWITCHBOARD_POSTMARK_TOKEN),
    postmarkUrl:
      parseUrlSetting('SWITCHBOARD_POSTMARK_URL', env.SWITCHBOARD_POSTMARK_URL, [
        'https',
        'http',
      ]) ?? 'https://api.postmarkapp.com',
    postmarkStream: nonEmpty(env.SWITCHBOARD_POSTMARK_STREAM),
    emailFrom: parseEmailFrom(env.SWITCHBOARD_EMAIL_FROM),
    publicUrl: (nonEmpty(env.SWITCHBOARD_PUBLIC_URL) ?? `http://localhost:${port}`).replace(
      /\/+$/,
      '',
    ),
    configFile: nonEmpty(env.SWITCHBOARD_CONFIG),
    logLevel: nonEmpty(env.LOG_LEVEL) ?? 'info',
    bodyLimitBytes: parseInteger(
      'SWITCHBOARD_BODY_LIMIT',
      env.SWITCHBOARD_BODY_LIMIT ?? String(1024 * 1024),
      1024,
      64 * 1024 * 1024,
    ),
    sqliteSynchronous: parseSqliteSynchronous(env.SWITCHBOARD_SQLITE_SYNCHRONOUS),
    leaseMs: parseInteger(
      'SWITCHBOARD_LEASE_MS',
      env.SWITCHBOARD_LEASE_MS ?? '60000',
      1_000,
      86_400_000,
    ),
    idlePollMs: parseInteger(
      'SWITCHBOARD_IDLE_POLL_MS',
      env.SWITCHBOARD_IDLE_POLL_MS ?? '1000',
      10,
      3_600_000,
    ),
    disableAfterFailures: parseInteger(
      'SWITCHBOARD_DISABLE_AFTER_FAILURES',
      env.SWITCHBOARD_DISABLE_AFTER_FAILURES ?? '20',
      1,
      1_000_000,
    ),
    senderThread: parseBoolean('SWITCHBOARD_SENDER_THREAD', env.SWITCHBOARD_SENDER_THREAD, true),
  };
}
