import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Svix } from 'svix';
import { type StartOptions, type Switchboard, startSwitchboard } from '../../src/app.js';
import { loadConfig } from '../../src/platform/config.js';
import { type Backend, createPostgresDatabase } from './backends.js';

export interface TestServer {
  sb: Switchboard;
  url: string;
  token: string;
  svix: Svix;
  /** Raw HTTP against the server with the admin token (override headers to test auth). */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface RequestOptions {
  body?: unknown;
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  token?: string | null;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary response shapes
  json: any;
}

/** A real server on a free port, with a real database (SQLite in a temp dir, or PostgreSQL). */
export async function startTestServer(
  backend: Backend = 'sqlite',
  env: Record<string, string> = {},
  options: StartOptions = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-test-'));
  const pgDb = backend === 'postgres' ? await createPostgresDatabase() : undefined;
  const token = `test_admin_${randomBytes(12).toString('hex')}`;
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: pgDb ? pgDb.url : `sqlite:${join(dataDir, 'switchboard.db')}`,
    SWITCHBOARD_DATA_DIR: dataDir,
    SWITCHBOARD_ADMIN_TOKEN: token,
    SWITCHBOARD_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const sb = await startSwitchboard(config, { logger: false, ...options });
  const url = sb.url;
  return {
    sb,
    url,
    token,
    svix: new Svix(token, { serverUrl: url }),
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const auth = options.token === undefined ? token : options.token;
      if (auth !== null) headers.authorization = `Bearer ${auth}`;
      let body: string | Buffer | undefined = options.rawBody;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      const response = await fetch(`${url}${path}`, { method, headers, body });
      const text = await response.text();
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, text, json };
    },
    async close() {
      await sb.close();
      await pgDb?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
