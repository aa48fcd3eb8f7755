import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Svix } from 'svix';
import { spawnServer } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

describe('platform', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer('sqlite');
  });
  after(() => server.close());

  it('answers the health probes without a token', async () => {
    const health = await server.request('GET', '/api/v1/health', { token: null });
    assert.equal(health.status, 200);
    assert.deepEqual(health.json, {
      database: { status: 'ok' },
      queue: { status: 'ok' },
      cache: { status: 'ok' },
    });
    await server.svix.health.get();
    assert.equal((await server.request('GET', '/healthz', { token: null })).status, 200);
    const ready = await server.request('GET', '/readyz', { token: null });
    assert.equal(ready.status, 200);
    assert.equal(ready.json.database, 'ok');
  });

  it('exposes Prometheus metrics that count requests', async () => {
    await server.request('GET', '/api/v1/app');
    const metrics = await server.request('GET', '/metrics', { token: null });
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(
      metrics.text,
      /switchboard_http_requests_total\{method="GET",route="\/api\/v1\/app",status_class="2xx"\} [1-9]/,
    );
    assert.match(metrics.text, /switchboard_process_resident_memory_bytes/);
  });

  it('serves an OpenAPI 3.1 document generated from the route schemas', async () => {
    const response = await server.request('GET', '/api/v1/openapi.json', { token: null });
    assert.equal(response.status, 200);
    const doc = response.json;
    assert.equal(doc.openapi, '3.1.0');
    const create = doc.paths['/api/v1/app'].post;
    assert.ok(create, 'POST /api/v1/app is documented');
    const schema = create.requestBody.content['application/json'].schema;
    assert.deepEqual(schema.required, ['name']);
    assert.equal(schema.properties.uid.anyOf[0].pattern, '^[a-zA-Z0-9\\-_.]+$');
    assert.ok(create.responses['201'] && create.responses['422']);
    for (const path of [
      '/api/v1/app/{app_id}/endpoint',
      '/api/v1/event-type',
      '/api/v1/app/{app_id}/msg',
      '/api/v1/app/{app_id}/attempt/msg/{msg_id}',
    ]) {
      assert.ok(doc.paths[path], `${path} is documented`);
    }
  });

  it('answers unknown routes with a JSON 404', async () => {
    const response = await server.request('GET', '/api/v1/nope');
    assert.equal(response.status, 404);
    assert.equal(response.json.code, 'not_found');
  });
});

describe('process', () => {
  it('creates and prints an admin key once on first start, stores only its hash, and stops on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-proc-'));
    const env = {
      DATABASE_URL: `sqlite:${join(dataDir, 'switchboard.db')}`,
      SWITCHBOARD_ADMIN_TOKEN: '',
    };
    try {
      const first = await spawnServer(env);
      // Printed once the server is up, so just after the "listening" line it waits for.
      const token = await waitFor(
        'the printed key',
        () => /\n {2}(sb_[A-Za-z0-9_-]{43})\n/.exec(first.stdout())?.[1],
        10_000,
      ).catch(() => undefined);
      assert.ok(token, `the key is printed:\n${first.stdout()}`);
      const svix = new Svix(token, { serverUrl: first.url });
      const app = await svix.application.create({ name: 'first' });
      assert.match(app.id, /^app_/);
      assert.equal((statSync(join(dataDir, 'master.key')).mode & 0o777).toString(8), '600');
      first.child.kill('SIGTERM');
      assert.equal(await first.exited, 0, 'SIGTERM exits cleanly');
      const db = readFileSync(join(dataDir, 'switchboard.db'));
      assert.equal(db.includes(Buffer.from(token)), false, 'the token is not stored in plaintext');
      assert.equal(first.stdout().split(token).length - 1, 1, 'the token is printed exactly once');

      const second = await spawnServer(env);
      assert.doesNotMatch(second.stdout(), /created an admin API key/, 'no new key on restart');
      const again = new Svix(token, { serverUrl: second.url });
      assert.equal((await again.application.get(app.id)).name, 'first', 'data survives restart');
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to start with a bad configuration, saying what is wrong', async () => {
    await assert.rejects(
      spawnServer({ SWITCHBOARD_ROLE: 'everything' }),
      /SWITCHBOARD_ROLE must be all, api or worker/,
    );
  });
});
