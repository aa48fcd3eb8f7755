import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sign } from '@octokit/webhooks-methods';
import Stripe from 'stripe';
import { backends, createPostgresDatabase } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * One HTTP/1.1 request written byte for byte on a socket (no client-side header checks), so
 * the server sees exactly the malformed input. Resolves to the response status.
 */
function rawPost(
  base: string,
  path: string,
  headers: [string, string][],
  body: Buffer,
  chunked = false,
): Promise<number> {
  const target = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const head = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (match) resolve(Number(match[1]));
      else reject(new Error(`no HTTP response: ${JSON.stringify(head.slice(0, 80))}`));
    });
    const lines = [
      `POST ${path} HTTP/1.1`,
      `host: ${target.host}`,
      'connection: close',
      chunked ? 'transfer-encoding: chunked' : `content-length: ${body.length}`,
      ...headers.map(([name, value]) => `${name}: ${value}`),
    ];
    const framed = chunked
      ? Buffer.concat([
          Buffer.from(`${body.length.toString(16)}\r\n`),
          body,
          Buffer.from('\r\n0\r\n\r\n'),
        ])
      : body;
    socket.write(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), framed]));
  });
}

const GITHUB_SECRET = 'It is a secret to everybody';
const STRIPE_SECRET = 'whsec_test_secret_0123456789';

interface Sent {
  status: number;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary shapes
  json: any;
}

for (const backend of await backends()) {
  describe(`inbound receiver (${backend})`, () => {
    let server: TestServer;
    let github: { id: string; path: string };

    /** POSTs to an ingest path (`/in/…`) without the admin token. */
    async function send(
      path: string,
      body: string | Buffer,
      headers: Record<string, string> = {},
      method = 'POST',
    ): Promise<Sent> {
      const response = await server.request(method, path, {
        rawBody: method === 'GET' ? undefined : body,
        headers,
        token: null,
      });
      return { status: response.status, text: response.text, json: response.json };
    }

    async function eventCount(sourceId?: string): Promise<number> {
      const row = sourceId
        ? await server.sb.ctx.db.get<{ n: number }>(
            'SELECT COUNT(*) AS n FROM inbound_events WHERE source_id = ?',
            [sourceId],
          )
        : await server.sb.ctx.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM inbound_events');
      return Number(row?.n ?? 0);
    }

    async function createSource(body: Record<string, unknown>): Promise<{
      id: string;
      path: string;
    }> {
      const response = await server.request('POST', '/ingest/api/v1/source', { body });
      assert.equal(response.status, 201, response.text);
      return { id: response.json.id, path: new URL(response.json.ingestUrl).pathname };
    }

    async function githubHeaders(payload: string, delivery: string) {
      return {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': delivery,
        'x-hub-signature-256': await sign(GITHUB_SECRET, payload),
      };
    }

    before(async () => {
      server = await startTestServer(backend);
      github = await createSource({
        name: 'github',
        type: 'github',
        config: { secret: GITHUB_SECRET, maxBodyBytes: 64 * 1024 },
      });
    });
    after(() => server.close());

    it('stores a signed GitHub webhook byte for byte, then answers 200', async () => {
      const payload = JSON.stringify({ ref: 'refs/heads/main', note: 'héllo ✓', n: 1.0 });
      const before = await eventCount(github.id);
      const response = await send(github.path, payload, await githubHeaders(payload, 'd-1'));
      assert.equal(response.status, 200, response.text);
      assert.deepEqual(response.json, {});
      assert.equal(await eventCount(github.id), before + 1);
      const row = await server.sb.ctx.db.get<{
        body: string;
        status: string;
        provider_event_id: string;
        event_type: string;
        headers: string;
      }>(
        'SELECT body, status, provider_event_id, event_type, headers FROM inbound_events WHERE source_id = ? ORDER BY id DESC LIMIT 1',
        [github.id],
      );
      assert.ok(row);
      assert.ok(Buffer.from(row.body, 'base64').equals(Buffer.from(payload)));
      assert.equal(row.status, 'received');
      assert.equal(row.provider_event_id, 'd-1');
      assert.equal(row.event_type, 'push');
      assert.equal(JSON.parse(row.headers)['x-github-delivery'], 'd-1');
    });

    it('refuses a wrong signature with 401 and writes nothing; counts the failure', async () => {
      const payload = '{"ref":"x"}';
      const before = await eventCount();
      const headers = await githubHeaders('{"ref":"y"}', 'd-bad');
      const response = await send(github.path, payload, headers);
      assert.equal(response.status, 401);
      assert.equal(await eventCount(), before);
      const metrics = await server.request('GET', '/metrics', { token: null });
      assert.match(
        metrics.text,
        /switchboard_inbound_verification_failures_total\{type="github"\} [1-9]/,
      );
    });

    it('answers 404 {} to an unknown token and writes nothing', async () => {
      const before = await eventCount();
      const payload = '{"a":1}';
      const random = `/in/${randomBytes(32).toString('base64url')}`;
      const response = await send(random, payload, await githubHeaders(payload, 'd-404'));
      assert.equal(response.status, 404);
      assert.deepEqual(response.json, {});
      const short = await send('/in/abc', payload);
      assert.equal(short.status, 404);
      assert.equal(await eventCount(), before);
    });

    it('answers 413 above the source body limit and writes nothing', async () => {
      const before = await eventCount();
      const payload = JSON.stringify({ blob: 'x'.repeat(70 * 1024) });
      const response = await send(github.path, payload, await githubHeaders(payload, 'd-big'));
      assert.equal(response.status, 413);
      const headers = await githubHeaders(payload, 'd-big-chunked');
      const chunked = await rawPost(
        server.url,
        github.path,
        Object.entries(headers),
        Buffer.from(payload),
        true,
      );
      assert.equal(chunked, 413, 'a chunked body is cut off at the limit too');
      assert.equal(await eventCount(), before);
    });

    it('stores a repeated delivery as duplicate and answers 2xx both times', async () => {
      const payload = '{"zen":"Keep it logically awesome."}';
      const headers = await githubHeaders(payload, 'dup-delivery-1');
      const first = await send(github.path, payload, headers);
      const second = await send(github.path, payload, headers);
      assert.equal(first.status, 200);
      assert.equal(second.status, 200);
      const rows = await server.sb.ctx.db.all<{ status: string }>(
        'SELECT status FROM inbound_events WHERE source_id = ? AND provider_event_id = ? ORDER BY id',
        [github.id, 'dup-delivery-1'],
      );
      assert.deepEqual(
        rows.map((r) => r.status),
        ['received', 'duplicate'],
      );
    });

    it('verifies Stripe webhooks signed by the stripe library', async () => {
      const stripeSource = await createSource({
        name: 'stripe',
        type: 'stripe',
        config: { secret: STRIPE_SECRET },
      });
      const payload = JSON.stringify({ id: 'evt_123', object: 'event', type: 'charge.succeeded' });
      const stripe = new Stripe('sk_test_123');
      const header = stripe.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET });
      const ok = await send(stripeSource.path, payload, {
        'content-type': 'application/json; charset=utf-8',
        'stripe-signature': header,
      });
      assert.equal(ok.status, 200, ok.text);
      const bad = await send(stripeSource.path, payload, {
        'content-type': 'application/json',
        'stripe-signature': stripe.webhooks.generateTestHeaderString({
          payload,
          secret: 'whsec_other',
        }),
      });
      assert.equal(bad.status, 401);
      const rows = await server.sb.ctx.db.all<{ provider_event_id: string; event_type: string }>(
        'SELECT provider_event_id, event_type FROM inbound_events WHERE source_id = ?',
        [stripeSource.id],
      );
      assert.equal(rows.length, 1);
      assert.equal(rows[0].provider_event_id, 'evt_123');
      assert.equal(rows[0].event_type, 'charge.succeeded');
    });

    it('stores a form-encoded Gumroad ping', async () => {
      const gumroad = await createSource({ name: 'gumroad', type: 'gumroad', config: {} });
      const form = 'seller_id=abc&product_id=p1&sale_id=s-77&email=buyer%40example.com&price=500';
      const response = await send(gumroad.path, form, {
        'content-type': 'application/x-www-form-urlencoded',
      });
      assert.equal(response.status, 200, response.text);
      const rows = await server.sb.ctx.db.all<{ body: string; provider_event_id: string }>(
        'SELECT body, provider_event_id FROM inbound_events WHERE source_id = ?',
        [gumroad.id],
      );
      assert.equal(rows.length, 1);
      assert.equal(Buffer.from(rows[0].body, 'base64').toString('utf8'), form);
      assert.equal(rows[0].provider_event_id, 's-77');
    });

    it('answers a Gumroad ping with a wrong URL secret with 404, like an unknown URL', async () => {
      const gumroad = await createSource({
        name: 'gumroad-secret',
        type: 'gumroad',
        config: { secret: 'url-secret-1' },
      });
      const form = 'seller_id=abc&product_id=p1&sale_id=s-78';
      const headers = { 'content-type': 'application/x-www-form-urlencoded' };
      const wrong = await send(`${gumroad.path}?secret=guess`, form, headers);
      assert.equal(wrong.status, 404);
      assert.equal(wrong.text, '{}');
      const right = await send(`${gumroad.path}?secret=url-secret-1`, form, headers);
      assert.equal(right.status, 200, right.text);
      const rows = await server.sb.ctx.db.all('SELECT id FROM inbound_events WHERE source_id = ?', [
        gumroad.id,
      ]);
      assert.equal(rows.length, 1, 'only the right secret stored an event');
    });

    it('keeps the previous token working after rotation; a random one is 404', async () => {
      const source = await createSource({
        name: 'rotating',
        type: 'github',
        config: { secret: GITHUB_SECRET },
      });
      const rotated = await server.svix.ingest.source.rotateToken(source.id);
      const newPath = new URL(rotated.ingestUrl).pathname;
      assert.notEqual(newPath, source.path);
      const payload = '{"action":"opened"}';
      const viaOld = await send(source.path, payload, await githubHeaders(payload, 'rot-1'));
      assert.equal(viaOld.status, 200, 'the old token works within 48 h');
      const viaNew = await send(newPath, payload, await githubHeaders(payload, 'rot-2'));
      assert.equal(viaNew.status, 200, 'the new token works');
      const random = await send(
        `/in/${randomBytes(32).toString('base64url')}`,
        payload,
        await githubHeaders(payload, 'rot-3'),
      );
      assert.equal(random.status, 404);
      assert.equal(await eventCount(source.id), 2);

      // After the grace period the old token is unknown.
      await server.sb.ctx.db.run('UPDATE sources SET previous_token_expires_at = ? WHERE id = ?', [
        Date.now() - 1,
        source.id,
      ]);
      await new Promise((resolve) => setTimeout(resolve, 5_100)); // the source cache's TTL
      const expired = await send(source.path, payload, await githubHeaders(payload, 'rot-4'));
      assert.equal(expired.status, 404, 'the old token is gone after its grace period');
    });

    it('lists events newest first with a status filter and shows the raw request', async () => {
      const source = await createSource({
        name: 'log',
        type: 'github',
        config: { secret: GITHUB_SECRET },
      });
      const bodies = ['{"n":1}', '{"n":2}', '{"n":3}'];
      for (const [i, body] of bodies.entries()) {
        const response = await send(
          `${source.path}?x=1&y=two`,
          body,
          await githubHeaders(body, `log-${i}`),
        );
        assert.equal(response.status, 200);
      }
      await send(source.path, bodies[0], await githubHeaders(bodies[0], 'log-0'));

      const all = await server.request('GET', `/ingest/api/v1/source/${source.id}/event`);
      assert.equal(all.status, 200);
      assert.equal(all.json.data.length, 4);
      assert.deepEqual(
        all.json.data.map((e: { eventId: string }) => e.eventId),
        ['log-0', 'log-2', 'log-1', 'log-0'],
      );
      assert.equal(all.json.data[0].status, 'duplicate');

      const received = await server.request(
        'GET',
        `/ingest/api/v1/source/${source.id}/event?status=received&limit=2`,
      );
      assert.equal(received.json.data.length, 2);
      assert.equal(received.json.done, false);
      const rest = await server.request(
        'GET',
        `/ingest/api/v1/source/${source.id}/event?status=received&limit=2&iterator=${received.json.iterator}`,
      );
      assert.equal(rest.json.data.length, 1);
      assert.equal(rest.json.done, true);
      const duplicates = await server.request(
        'GET',
        `/ingest/api/v1/source/${source.id}/event?status=duplicate`,
      );
      assert.equal(duplicates.json.data.length, 1);

      const one = await server.request(
        'GET',
        `/ingest/api/v1/source/${source.id}/event/${rest.json.data[0].id}`,
      );
      assert.equal(one.status, 200);
      assert.equal(one.json.eventId, 'log-0');
      assert.equal(one.json.eventType, 'push');
      assert.equal(one.json.request.method, 'POST');
      assert.equal(one.json.request.query, 'x=1&y=two');
      assert.equal(one.json.request.bodyText, '{"n":1}');
      assert.equal(Buffer.from(one.json.request.body, 'base64').toString(), '{"n":1}');
      assert.equal(one.json.request.headers['x-github-delivery'], 'log-0');

      const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
      const generic = await createSource({ name: 'open', type: 'generic-webhook' });
      const stored = await send(generic.path, binary, {
        'content-type': 'application/octet-stream',
      });
      assert.equal(stored.status, 200);
      const genericLog = await server.request('GET', `/ingest/api/v1/source/${generic.id}/event`);
      const detail = await server.request(
        'GET',
        `/ingest/api/v1/source/${generic.id}/event/${genericLog.json.data[0].id}`,
      );
      assert.equal(detail.json.request.bodyText, null, 'not UTF-8: no text form');
      assert.ok(Buffer.from(detail.json.request.body, 'base64').equals(binary));

      const missing = await server.request(
        'GET',
        `/ingest/api/v1/source/${source.id}/event/evt_nothing`,
      );
      assert.equal(missing.status, 404);
    });

    it('answers GET with 405 when the provider has no handshake', async () => {
      const response = await send(github.path, '', {}, 'GET');
      assert.equal(response.status, 405);
    });

    it('survives 500 random and malformed requests: never 5xx, nothing stored', async () => {
      const before = await eventCount(github.id);
      const valid = '{"ref":"refs/heads/main"}';
      const goodSignature = await sign(GITHUB_SECRET, valid);
      const contentTypes = [
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
        'image/png',
        ';;;',
        'application/json; charset=latin1',
        '',
      ];
      let seed = 42;
      const rand = (n: number) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      const failures: string[] = [];
      for (let i = 0; i < 500; i++) {
        const kind = i % 10;
        let body: Buffer = randomBytes(rand(2048));
        const headers: Record<string, string> = {};
        const contentType = contentTypes[rand(contentTypes.length)];
        if (contentType !== '') headers['content-type'] = contentType;
        switch (kind) {
          case 0:
            break; // random bytes, no signature
          case 1:
            body = Buffer.from(valid.slice(0, rand(valid.length))); // truncated JSON
            headers['x-hub-signature-256'] = goodSignature;
            break;
          case 2:
            body = Buffer.concat([
              Buffer.from('{"a":"'),
              Buffer.from([0xc3, 0x28, 0xff]),
              Buffer.from('"}'),
            ]);
            headers['x-hub-signature-256'] = `sha256=${randomBytes(32).toString('hex')}`;
            break;
          case 3:
            headers['x-hub-signature-256'] = 'sha256=';
            break;
          case 4:
            headers['x-hub-signature-256'] = `sha256=${'z'.repeat(rand(200))}`;
            break;
          case 5:
            headers['x-custom'] = 'h'.repeat(4000 + rand(4000)); // huge header
            headers['x-hub-signature-256'] = 'sha1=deadbeef';
            break;
          case 6:
            body = Buffer.from(valid);
            headers['x-hub-signature-256'] = `${goodSignature}, ${goodSignature}`; // doubled
            break;
          case 7:
            body = Buffer.from(valid);
            headers['x-hub-signature-256'] = goodSignature.toUpperCase();
            break;
          case 8:
            body = Buffer.alloc(0);
            headers['x-hub-signature-256'] = goodSignature;
            break;
          case 9:
            body = Buffer.from(JSON.stringify({ deep: '['.repeat(rand(5000)) }));
            // raw bytes in header values (obs-text and invalid UTF-8; CR/LF/NUL stripped)
            headers['x-github-delivery'] = randomBytes(1 + rand(300))
              .toString('latin1')
              .replace(/[\r\n\0]/g, 'x');
            break;
        }
        const status = await rawPost(server.url, github.path, Object.entries(headers), body);
        if (status >= 500 || status < 400) failures.push(`#${i} kind ${kind} → ${status}`);
      }
      // Doubled signature headers as two separate header lines.
      const doubled = await rawPost(
        server.url,
        github.path,
        [
          ['content-type', 'application/json'],
          ['x-hub-signature-256', goodSignature],
          ['x-hub-signature-256', goodSignature],
        ],
        Buffer.from(valid),
      );
      assert.equal(doubled, 401, 'a doubled signature header is refused');
      assert.deepEqual(failures, []);
      assert.equal(await eventCount(github.id), before, 'nothing stored');
      const health = await server.request('GET', '/api/v1/health', { token: null });
      assert.equal(health.status, 200, 'still healthy');
      const payload = '{"after":"fuzz"}';
      const ok = await send(github.path, payload, await githubHeaders(payload, 'after-fuzz'));
      assert.equal(ok.status, 200, 'still receiving');
    });
  });
}

if ((await backends()).includes('postgres')) {
  describe('inbound de-duplication across processes (postgres)', () => {
    let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
    let servers: TestServer[];

    before(async () => {
      database = await createPostgresDatabase();
      // Two servers, one database: as two processes behind a load balancer.
      const env = {
        DATABASE_URL: database.url,
        SWITCHBOARD_MASTER_KEY: randomBytes(32).toString('hex'),
      };
      const first = await startTestServer('sqlite', env);
      servers = [first, await startTestServer('sqlite', env)];
    });
    after(async () => {
      for (const server of servers ?? []) await server.close();
      await database?.drop();
    });

    it('stores one received and one duplicate when two processes get the same event at once', async () => {
      const [a, b] = servers;
      const created = await a.request('POST', '/ingest/api/v1/source', {
        body: { name: 'gumroad', type: 'gumroad', config: {} },
      });
      assert.equal(created.status, 201, created.text);
      const sourceId: string = created.json.id;
      const path = new URL(created.json.ingestUrl).pathname;
      const post = (server: TestServer, saleId: string) =>
        server.request('POST', path, {
          rawBody: `seller_id=s&product_id=p&sale_id=${saleId}&price=1`,
          token: null,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
      // Warm both receivers' source caches, so the pairs below really start together.
      await Promise.all([post(a, 'warm-a'), post(b, 'warm-b')]);
      const rounds = 30;
      for (let round = 0; round < rounds; round++) {
        const answers = await Promise.all([post(a, `race-${round}`), post(b, `race-${round}`)]);
        assert.deepEqual(
          answers.map((answer) => answer.status),
          [200, 200],
        );
      }
      const rows = await a.sb.ctx.db.all<{ provider_event_id: string; status: string }>(
        "SELECT provider_event_id, status FROM inbound_events WHERE source_id = ? AND provider_event_id LIKE 'race-%' ORDER BY provider_event_id, status",
        [sourceId],
      );
      const byDelivery = new Map<string, string[]>();
      for (const row of rows) {
        byDelivery.set(row.provider_event_id, [
          ...(byDelivery.get(row.provider_event_id) ?? []),
          row.status,
        ]);
      }
      assert.equal(byDelivery.size, rounds);
      for (const [delivery, statuses] of byDelivery) {
        assert.deepEqual(statuses, ['duplicate', 'received'], delivery);
      }
    });
  });
}
