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
  natsUrl: string | undefined;
  publicUrl: string;
  configFile: string | undefined;
  logLevel: string;
  /** Largest accepted API request body, in bytes. */
  bodyLimitBytes: number;
  /** How long a worker's claim on a delivery lasts (keep well above the 15 s deadline). */
  leaseMs: number;
  /** Longest idle sleep of a worker when no notification arrives. */
  idlePollMs: number;
  /** Consecutive failed attempts after which an endpoint is disabled. */
  disableAfterFailures: number;
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

export function parseRetrySchedule(raw: string): number[] {
  const parts = raw.split(',').map((part) => part.trim());
  if (parts.length === 0 || parts.some((part) => part === '')) {
    throw new ConfigError(
      `SWITCHBOARD_RETRY_SCHEDULE must be comma-separated seconds, got "${raw}"`,
    );
  }
  return parts.map((part) => parseInteger('SWITCHBOARD_RETRY_SCHEDULE', part, 0, 30 * 86400));
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
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
  };
}
