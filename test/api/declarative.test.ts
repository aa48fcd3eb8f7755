// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is the syntax under test
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyWebhook } from '../../src/outbound/signing.js';
import { backends, createPostgresDatabase } from '../helpers/backends.js';
import { spawnServer } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const token = () => randomBytes(32).toString('base64url');
const secret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** A receiver that keeps every request with its headers. */
async function startReceiver(): Promise<{
  url: string;
  requests: { path: string; headers: IncomingHttpHeaders; body: string }[];
  server: Server;
}> {
  const requests: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      requests.push({ path: req.url ?? '', headers: req.headers, body });
      res.end('ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, server };
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function gumroadSale(saleId: string, productId: string): string {
  return new URLSearchParams({
    sale_id: saleId,
    product_id: productId,
    email: 'buyer@example.com',
    seller_id: 'seller-1',
    price: '1000',
  }).toString();
}

const FILE_V1 = `
eventTypes:
  - name: licence.sale
    description: A licence was sold
    schema: { type: object, required: [saleId] }
  - name: licence.refund
applications:
  - uid: acme
    name: Acme Inc
    metadata: { plan: pro }
    endpoints:
      - uid: main
        url: \${RECEIVER_URL}/acme
        filterTypes: [licence.sale]
        secret: \${ACME_SECRET}
        headers: { x-team: licences }
sources:
  - uid: gumroad
    name: Gumroad store
    type: gumroad
    token: \${GUMROAD_TOKEN}
    config: { sellerId: seller-1 }
    mapping:
      eventTypes: { sale: licence.sale }
      lookups:
        tier: { from: product_id, table: { prod_basic: basic, prod_pro: pro } }
      payload:
        saleId: sale_id
        email: email
        tier: { lookup: tier }
    endpoints:
      - uid: receiver
        url: \${RECEIVER_URL}/gumroad
        secret: \${RECEIVER_SECRET}
  - uid: github
    name: GitHub
    type: github
    config: { secret: "\${GITHUB_SECRET:-It's a Secret to Everybody}" }
`;

/** v1 with: renamed app, moved endpoint with a new secret, a new token, a new product. */
const FILE_V2 = FILE_V1.replace('name: Acme Inc', 'name: Acme Corporation')
  .replace('url: ${RECEIVER_URL}/acme', 'url: ${RECEIVER_URL}/acme-v2\n        description: moved')
  .replace('secret: ${ACME_SECRET}', 'secret: ${ACME_SECRET_V2}')
  .replace('token: ${GUMROAD_TOKEN}', 'token: ${GUMROAD_TOKEN_V2}')
  .replace('prod_pro: pro }', 'prod_pro: pro, prod_team: team }')
  .replace('description: A licence was sold', 'description: A licence was sold (v2)');

for (const backend of await backends()) {
  describe(`declarative config file (${backend})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-declarative-'));
    const file = join(dir, 'switchboard.yaml');
    const env = {
      GUMROAD_TOKEN: token(),
      GUMROAD_TOKEN_V2: token(),
      ACME_SECRET: secret(),
      ACME_SECRET_V2: secret(),
      RECEIVER_SECRET: secret(),
    };
    let databaseUrl = `sqlite:${join(dir, 'switchboard.db')}`;
    let dropDatabase = async () => {};
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let server: TestServer | undefined;
    const saved: Record<string, string | undefined> = {};

    /** A server on the shared database (and master key), applying `file` at start. */
    const start = () =>
      startTestServer('sqlite', {
        DATABASE_URL: databaseUrl,
        SWITCHBOARD_DATA_DIR: dir,
        SWITCHBOARD_CONFIG: file,
      });

    before(async () => {
      receiver = await startReceiver();
      // ${…} in the file comes from the process environment.
      for (const [name, value] of Object.entries({ ...env, RECEIVER_URL: receiver.url })) {
        saved[name] = process.env[name];
        process.env[name] = value;
      }
      if (backend === 'postgres') {
        const db = await createPostgresDatabase();
        databaseUrl = db.url;
        dropDatabase = db.drop;
      }
    });
    after(async () => {
      await server?.close();
      receiver.server.close();
      await dropDatabase();
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      rmSync(dir, { recursive: true, force: true });
    });

    let first: Record<string, { id: string; updatedAt: string }>;

    it('creates everything the file declares', async () => {
      writeFileSync(file, FILE_V1);
      server = await start();
      const { request } = server;

      const sale = await request('GET', '/api/v1/event-type/licence.sale');
      assert.equal(sale.status, 200);
      assert.equal(sale.json.description, 'A licence was sold');
      assert.deepEqual(sale.json.schemas, { '1': { type: 'object', required: ['saleId'] } });
      assert.equal(
        (await request('GET', '/api/v1/event-type/licence.refund')).json.description,
        '',
      );

      const app = (await request('GET', '/api/v1/app/acme')).json;
      assert.equal(app.name, 'Acme Inc');
      assert.deepEqual(app.metadata, { plan: 'pro' });
      const endpoint = (await request('GET', '/api/v1/app/acme/endpoint/main')).json;
      assert.equal(endpoint.url, `${receiver.url}/acme`);
      assert.deepEqual(endpoint.filterTypes, ['licence.sale']);
      assert.equal(
        (await request('GET', '/api/v1/app/acme/endpoint/main/secret')).json.key,
        env.ACME_SECRET,
      );
      assert.deepEqual((await request('GET', '/api/v1/app/acme/endpoint/main/headers')).json, {
        headers: { 'x-team': 'licences' },
        sensitive: [],
      });

      const gumroad = (await request('GET', '/ingest/api/v1/source/gumroad')).json;
      assert.equal(gumroad.type, 'gumroad');
      assert.equal(gumroad.name, 'Gumroad store');
      assert.ok(
        gumroad.ingestUrl.endsWith(`/in/${env.GUMROAD_TOKEN}`),
        'the token is the fixed one',
      );
      const mapping = (await request('GET', '/ingest/api/v1/source/gumroad/mapping')).json;
      assert.deepEqual(mapping.lookups.tier.table, { prod_basic: 'basic', prod_pro: 'pro' });
      const forward = (await request('GET', '/ingest/api/v1/source/gumroad/endpoint/receiver'))
        .json;
      assert.equal(forward.url, `${receiver.url}/gumroad`);
      assert.equal(
        (await request('GET', '/ingest/api/v1/source/gumroad/endpoint/receiver/secret')).json.key,
        env.RECEIVER_SECRET,
      );
      const github = (await request('GET', '/ingest/api/v1/source/github')).json;
      assert.equal(github.type, 'github');

      first = {
        sale: { id: sale.json.name, updatedAt: sale.json.updatedAt },
        app: app,
        endpoint,
        gumroad,
        github,
        forward,
      };
      // Made through the API, not in the file: left alone by every later start.
      assert.equal(
        (await request('POST', '/api/v1/app', { body: { name: 'Manual', uid: 'manual' } })).status,
        201,
      );
      const extra = await request('POST', '/api/v1/app/acme/endpoint', {
        body: { url: `${receiver.url}/extra`, uid: 'extra' },
      });
      assert.equal(extra.status, 201);
      await server.close();
      server = undefined;
    });

    it('applying the same file again changes nothing and duplicates nothing', async () => {
      server = await start();
      const { request } = server;
      const sale = (await request('GET', '/api/v1/event-type/licence.sale')).json;
      assert.equal(sale.updatedAt, first.sale?.updatedAt, 'the event type was not rewritten');
      const app = (await request('GET', '/api/v1/app/acme')).json;
      assert.equal(app.id, first.app?.id);
      assert.equal(app.updatedAt, first.app?.updatedAt, 'the application was not rewritten');
      const endpoint = (await request('GET', '/api/v1/app/acme/endpoint/main')).json;
      assert.equal(endpoint.id, first.endpoint?.id);
      assert.equal(endpoint.updatedAt, first.endpoint?.updatedAt);
      const gumroad = (await request('GET', '/ingest/api/v1/source/gumroad')).json;
      assert.equal(gumroad.id, first.gumroad?.id);
      assert.equal(gumroad.updatedAt, first.gumroad?.updatedAt);
      assert.ok(gumroad.ingestUrl.endsWith(`/in/${env.GUMROAD_TOKEN}`));
      const forward = (await request('GET', '/ingest/api/v1/source/gumroad/endpoint/receiver'))
        .json;
      assert.equal(forward.id, first.forward?.id);
      assert.equal(forward.updatedAt, first.forward?.updatedAt);

      const apps = (await request('GET', '/api/v1/app?limit=250')).json.data;
      assert.deepEqual(apps.map((a: { uid: string }) => a.uid).sort(), ['acme', 'manual']);
      const endpoints = (await request('GET', '/api/v1/app/acme/endpoint')).json.data;
      assert.deepEqual(endpoints.map((e: { uid: string }) => e.uid).sort(), ['extra', 'main']);
      const sources = (await request('GET', '/ingest/api/v1/source')).json.data;
      assert.deepEqual(sources.map((s: { uid: string }) => s.uid).sort(), ['github', 'gumroad']);
      const forwards = (await request('GET', '/ingest/api/v1/source/gumroad/endpoint')).json.data;
      assert.equal(forwards.length, 1);
      const types = (await request('GET', '/api/v1/event-type')).json.data;
      assert.deepEqual(types.map((t: { name: string }) => t.name).sort(), [
        'licence.refund',
        'licence.sale',
      ]);
    });

    it('a webhook to the fixed-token ingest URL is stored, mapped and forwarded signed', async () => {
      assert.ok(server);
      const { request, url } = server;
      const before = receiver.requests.length;
      const sent = await fetch(`${url}/in/${env.GUMROAD_TOKEN}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: gumroadSale('sale-1', 'prod_pro'),
      });
      assert.equal(sent.status, 200);
      const events = (await request('GET', '/ingest/api/v1/source/gumroad/event')).json.data;
      assert.equal(events.length, 1);
      assert.equal(events[0].eventId, 'sale-1', "Gumroad's sale_id is the event id");
      assert.equal(events[0].eventType, 'sale');

      const delivered = await until('the forwarded event', () =>
        receiver.requests.slice(before).find((r) => r.path === '/gumroad'),
      );
      verifyWebhook(
        env.RECEIVER_SECRET,
        delivered.headers as Record<string, string>,
        delivered.body,
      );
      assert.deepEqual(JSON.parse(delivered.body), {
        saleId: 'sale-1',
        email: 'buyer@example.com',
        tier: 'pro',
      });
      await server.close();
      server = undefined;
    });

    it('a changed file updates what it declares; the old token keeps working for 48 h', async () => {
      writeFileSync(file, FILE_V2);
      server = await start();
      const { request, url } = server;
      assert.equal(
        (await request('GET', '/api/v1/event-type/licence.sale')).json.description,
        'A licence was sold (v2)',
      );
      const app = (await request('GET', '/api/v1/app/acme')).json;
      assert.equal(app.id, first.app?.id);
      assert.equal(app.name, 'Acme Corporation');
      const endpoint = (await request('GET', '/api/v1/app/acme/endpoint/main')).json;
      assert.equal(endpoint.id, first.endpoint?.id);
      assert.equal(endpoint.url, `${receiver.url}/acme-v2`);
      assert.equal(endpoint.description, 'moved');
      assert.equal(
        (await request('GET', '/api/v1/app/acme/endpoint/main/secret')).json.key,
        env.ACME_SECRET_V2,
        'the secret was rotated to the declared one',
      );
      const gumroad = (await request('GET', '/ingest/api/v1/source/gumroad')).json;
      assert.equal(gumroad.id, first.gumroad?.id);
      assert.ok(gumroad.ingestUrl.endsWith(`/in/${env.GUMROAD_TOKEN_V2}`), 'the token rotated');
      const mapping = (await request('GET', '/ingest/api/v1/source/gumroad/mapping')).json;
      assert.equal(mapping.lookups.tier.table.prod_team, 'team');
      // Still there: made through the API.
      assert.equal((await request('GET', '/api/v1/app/manual')).status, 200);
      assert.equal((await request('GET', '/api/v1/app/acme/endpoint/extra')).status, 200);

      for (const [saleId, used] of [
        ['sale-2', env.GUMROAD_TOKEN_V2],
        ['sale-3', env.GUMROAD_TOKEN],
      ] as const) {
        const sent = await fetch(`${url}/in/${used}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: gumroadSale(saleId, 'prod_team'),
        });
        assert.equal(sent.status, 200, `${saleId} accepted`);
      }
      const events = (await request('GET', '/ingest/api/v1/source/gumroad/event')).json.data;
      assert.equal(events.length, 3);
      const unknown = await fetch(`${url}/in/${token()}`, { method: 'POST', body: 'sale_id=x' });
      assert.equal(unknown.status, 404);
      await server.close();
      server = undefined;
    });
  });
}

describe('declarative config file: a bad file', () => {
  it('stops the process before it listens, naming the file, the place and the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-declarative-bad-'));
    const file = join(dir, 'switchboard.yaml');
    writeFileSync(
      file,
      [
        'sources:',
        '  - uid: stripe',
        '    name: Stripe',
        '    type: stripe',
        '    config: {}',
        '',
      ].join('\n'),
    );
    try {
      await assert.rejects(
        spawnServer({
          DATABASE_URL: `sqlite:${join(dir, 'switchboard.db')}`,
          SWITCHBOARD_DATA_DIR: dir,
          SWITCHBOARD_ADMIN_TOKEN: 'test-admin-token',
          SWITCHBOARD_CONFIG: file,
        }),
        (error: Error) => {
          assert.match(error.message, /server exited with [1-9]\d* before listening/);
          assert.ok(
            error.message.includes(`${file}:5: sources[0].config.secret: required`),
            error.message,
          );
          return true;
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
