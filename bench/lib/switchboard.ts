import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Child, freePort, ROOT, spawnNode, waitForHttp } from './proc.js';

export const ADMIN_TOKEN = 'bench_admin_token_0123456789abcdef';

export interface SwitchboardProcess {
  child: Child;
  url: string;
  role: string;
  /** Date.now() when the process was spawned (its CPU profile starts then). */
  spawnedAt: number;
  stop(): Promise<number | null>;
}

export interface SwitchboardOptions {
  databaseUrl: string;
  dataDir: string;
  role?: 'all' | 'api' | 'worker';
  /** Directory for `--cpu-prof` output; no profiling when undefined. */
  profileDir?: string;
  env?: Record<string, string>;
  name?: string;
  /** NODE_OPTIONS for the Switchboard process (`--server-node-options`). */
  nodeOptions?: string;
  /** Called with the pid as soon as the process exists (before it answers). */
  onSpawn?: (pid: number) => void;
}

/** The node flags of `npm start` (e.g. its heap cap), so the bench runs what users run. */
const START_FLAGS: readonly string[] = (() => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const words = pkg.scripts.start.split(/\s+/);
  return words.slice(1, words.indexOf('--import'));
})();

/**
 * Starts `src/main.ts` (exactly what `npm start` runs) in a process of its own, on a port the
 * harness picked, at LOG_LEVEL=warn, and waits until it answers its health probe.
 */
export async function startSwitchboard(options: SwitchboardOptions): Promise<SwitchboardProcess> {
  const port = await freePort();
  const role = options.role ?? 'all';
  const nodeFlags: string[] = [...START_FLAGS];
  if (options.profileDir) {
    mkdirSync(options.profileDir, { recursive: true });
    nodeFlags.push('--cpu-prof', '--cpu-prof-dir', options.profileDir);
  }
  const spawnedAt = Date.now();
  const child = spawnNode(options.name ?? `switchboard(${role})`, 'src/main.ts', [], {
    nodeFlags,
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATABASE_URL: options.databaseUrl,
      SWITCHBOARD_DATA_DIR: options.dataDir,
      SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
      SWITCHBOARD_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
      SWITCHBOARD_ROLE: role,
      SWITCHBOARD_PUBLIC_URL: `http://127.0.0.1:${port}`,
      NODE_ENV: 'production',
      ...(options.nodeOptions ? { NODE_OPTIONS: options.nodeOptions } : {}),
      ...options.env,
    },
  });
  options.onSpawn?.(child.pid);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(child, `${url}/api/v1/health/ping`, 60_000);
  } catch (error) {
    await child.stop(2000);
    throw error;
  }
  return { child, url, role, spawnedAt, stop: () => child.stop(15_000) };
}

/** A management API call with the admin token; throws with the answer on a non-2xx. */
export async function api<T>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok)
    throw new Error(`${method} ${path} → ${response.status}: ${text.slice(0, 500)}`);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/** An application with `endpoints` endpoints at `receiverUrl`; returns its id. */
export async function createAppWithEndpoints(
  base: string,
  receiverUrl: string,
  endpoints: number,
): Promise<{ appId: string; endpointIds: string[] }> {
  const app = await api<{ id: string }>(base, 'POST', '/api/v1/app', {
    name: `bench-${randomBytes(3).toString('hex')}`,
  });
  const endpointIds: string[] = [];
  for (let i = 0; i < endpoints; i++) {
    const endpoint = await api<{ id: string }>(base, 'POST', `/api/v1/app/${app.id}/endpoint`, {
      url: `${receiverUrl}?ep=${i}`,
      description: `bench endpoint ${i}`,
    });
    endpointIds.push(endpoint.id);
  }
  return { appId: app.id, endpointIds };
}

/** A temp directory for one Switchboard data dir (SQLite file, master key). */
export function tempDataDir(label: string): { dir: string; sqliteUrl: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `switchboard-bench-${label}-`));
  return {
    dir,
    sqliteUrl: `sqlite:${join(dir, 'switchboard.db')}`,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const POSTGRES_ADMIN_URL =
  process.env.SWITCHBOARD_BENCH_POSTGRES_URL ??
  process.env.SWITCHBOARD_TEST_POSTGRES_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';

/** Undefined when PostgreSQL answers, else why not. */
export async function probePostgres(): Promise<string | undefined> {
  const client = new pg.Client({
    connectionString: POSTGRES_ADMIN_URL,
    connectionTimeoutMillis: 3000,
  });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL not reachable at ${POSTGRES_ADMIN_URL}: ${(error as Error).message}`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A fresh, empty database (as test/helpers/backends.ts does); drop it with `drop`. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `sb_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
