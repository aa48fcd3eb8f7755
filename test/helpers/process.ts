import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

const MAIN = new URL('../../src/main.ts', import.meta.url);

export interface SpawnedServer {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/**
 * Runs `src/main.ts` as a real child process (as `npm start` does) and waits for the line that
 * says where it listens. Used by tests of process-level behaviour: first-start key, signals.
 */
export async function spawnServer(
  env: Record<string, string>,
  /** Another working directory than the project's (the loader and script by absolute path). */
  cwd?: string,
): Promise<SpawnedServer> {
  const args =
    cwd === undefined
      ? ['--import', 'tsx', 'src/main.ts']
      : ['--import', import.meta.resolve('tsx'), fileURLToPath(MAIN)];
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) {
        clearInterval(timer);
        resolve(match[1]);
      }
    }, 25);
    exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}\n${err}`));
    });
  });
  return { child, url, stdout: () => out, exited };
}

/**
 * Environment of a server process in a crash test, on the given database. Claims held by a
 * killed process fall due again after 3 s (instead of 60 s), so a restart picks them up within
 * the test. LOG_LEVEL stays at info: `spawnServer` learns the port from Fastify's "Server
 * listening at" line, which a warn level would suppress. `env` adds or overrides variables.
 */
export function crashTestEnv(
  databaseUrl: string,
  dataDir: string,
  adminToken: string,
  env: Record<string, string>,
): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    SWITCHBOARD_DATA_DIR: dataDir,
    SWITCHBOARD_MASTER_KEY: randomBytes(32).toString('base64'),
    SWITCHBOARD_ADMIN_TOKEN: adminToken,
    SWITCHBOARD_LEASE_MS: '3000',
    LOG_LEVEL: 'info',
    ...env,
  };
}

/** SIGTERMs the server unless it never started or has exited already; waits for the exit. */
export async function stopServer(server: SpawnedServer | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGTERM');
  await server.exited;
}

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary response shapes
export type Json = any;

export type AdminApi = (
  server: SpawnedServer,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
) => Promise<Json>;

/**
 * Management API calls to spawned servers with the admin token. A non-2xx answer throws (an
 * AssertionError naming the call): the tests use it for set-up and reads, not to test the API.
 */
export function adminApi(adminToken: string): AdminApi {
  return async (server, method, path, body) => {
    const response = await request(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.body.text();
    assert.ok(
      response.statusCode >= 200 && response.statusCode < 300,
      `${method} ${path} answered ${response.statusCode}: ${text}`,
    );
    return text === '' ? undefined : JSON.parse(text);
  };
}

/** Every stored event of an inbound source, through the event list API (pages of 250). */
export async function listInboundEvents<Event = Json>(
  api: AdminApi,
  server: SpawnedServer,
  sourceId: string,
): Promise<Event[]> {
  const events: Event[] = [];
  let iterator: string | null = null;
  for (;;) {
    const query: string = iterator ? `&iterator=${encodeURIComponent(iterator)}` : '';
    const page = await api(
      server,
      'GET',
      `/ingest/api/v1/source/${sourceId}/event?limit=250${query}`,
    );
    events.push(...(page.data as Event[]));
    if (page.done || !page.iterator) return events;
    iterator = page.iterator;
  }
}
