// The delivery engine end to end: real HTTP receivers on 127.0.0.1, messages emitted through the
// official svix SDK, and what the receivers saw (bytes, headers, signatures, timing) checked
// against the delivery contract (SPEC §3). Both backends.

import assert from 'node:assert/strict';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { type ApiException, messageInRaw, Webhook as SvixWebhook } from 'svix';
import { type AppId, newId } from '../../src/core/ids.js';
import {
  generateSigningKey,
  verifyGithubStyle,
  verifyStripeStyle,
  verifyWebhook,
} from '../../src/outbound/signing.js';
import { generateToken } from '../../src/platform/auth.js';
import { insertApiKey } from '../../src/store/api-keys.js';
import { backends } from '../helpers/backends.js';
import { flat, startHook } from '../helpers/hook.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

// ---------------------------------------------------------------------------------------------
// Helpers

interface Received {
  /** Date.now() when the request arrived (the server's clock, so comparable with its times). */
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

type Handler = (request: Received, index: number) => Answer | number;

interface Receiver {
  url: string;
  port: number;
  requests: Received[];
  /** The JSON bodies received, parsed. */
  // biome-ignore lint/suspicious/noExplicitAny: test receivers read arbitrary payloads
  bodies(): any[];
  close(): Promise<void>;
}

/** A local HTTP server that records every request and answers with `handler`. */
async function startReceiver(handler: Handler = () => 200): Promise<Receiver> {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received: Received = {
        at,
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(received);
      const answer = handler(received, requests.length - 1);
      const {
        status,
        headers = {},
        body = '',
      } = typeof answer === 'number' ? { status: answer } : answer;
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    requests,
    bodies: () => requests.map((request) => JSON.parse(request.body)),
    async close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

const status = (code: number) => (error: ApiException<unknown>) => error.code === code;

/**
 * Test DNS: names ending in `.test` or `.localhost` answer from this table (a function may
 * change its answer per call, like a rebinding server); anything else goes to the system.
 */
const dnsTable = new Map<string, (call: number) => LookupAddress[]>();
const dnsCalls = new Map<string, number>();
const testLookup = ((
  hostname: string,
  options: { all?: boolean },
  callback: (error: NodeJS.ErrnoException | null, address: unknown, family?: number) => void,
) => {
  const answer = dnsTable.get(hostname);
  if (!answer) return dnsLookup(hostname, options as never, callback as never);
  const call = dnsCalls.get(hostname) ?? 0;
  dnsCalls.set(hostname, call + 1);
  const addresses = answer(call);
  setImmediate(() => {
    if (options.all) callback(null, addresses);
    else callback(null, addresses[0]?.address, addresses[0]?.family);
  });
}) as typeof dnsLookup;

const v4 = (address: string): LookupAddress => ({ address, family: 4 });

// ---------------------------------------------------------------------------------------------

for (const backend of await backends()) {
  describe(`delivery (${backend})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(
        backend,
        { SWITCHBOARD_RETRY_SCHEDULE: '0,1,1' },
        { lookup: testLookup },
      );
    });
    after(() => server.close());

    /** A receiver closed, and its endpoint deleted, when the test ends. */
    async function receiver(t: TestContext, handler?: Handler): Promise<Receiver> {
      const r = await startReceiver(handler);
      t.after(() => r.close());
      return r;
    }

    async function newApp(t: TestContext, name: string) {
      const app = await server.svix.application.create({ name });
      // Deleting the application's endpoints ends their deliveries (no retries into closed ports).
      t.after(async () => {
        const endpoints = await server.svix.endpoint.list(app.id, { limit: 250 });
        for (const endpoint of endpoints.data)
          await server.svix.endpoint.delete(app.id, endpoint.id);
      });
      return app;
    }

    /** POST …/endpoint with raw JSON, for Switchboard's extensions the SDK does not send. */
    async function createRaw(appId: string, body: Record<string, unknown>) {
      const response = await server.request('POST', `/api/v1/app/${appId}/endpoint`, { body });
      assert.equal(response.status, 201, response.text);
      return response.json as { id: string } & Record<string, unknown>;
    }

    async function attemptsOf(appId: string, msgId: string) {
      const list = await server.svix.messageAttempt.listByMsg(appId, msgId, { withContent: true });
      return list.data;
    }

    async function failuresOf(endpointId: string): Promise<number> {
      const row = await server.sb.ctx.db.get<{ n: number }>(
        'SELECT consecutive_failures AS n FROM endpoints WHERE id = ?',
        [endpointId],
      );
      return Number(row?.n);
    }

    async function send(appId: string, payload: Record<string, unknown>, eventType = 'test.event') {
      return server.svix.message.create(appId, { eventType, payload });
    }

    // -------------------------------------------------------------------------------------------
    // Signatures and headers

    it('delivers the exact payload bytes, signed, with every header', async (t) => {
      const { svix } = server;
      const hook = await receiver(t, () => ({ status: 200, body: 'thanks' }));
      const app = await newApp(t, 'Signed');
      const endpoint = await svix.endpoint.create(app.id, {
        url: hook.url,
        headers: { 'X-Custom': 'custom-value' },
      });
      const secret = (await svix.endpoint.getSecret(app.id, endpoint.id)).key;
      const payload = { id: 1, text: 'héllo ✓ "quoted"', nested: { list: [1, 2.5, null] } };
      const message = await send(app.id, payload);
      // rawPayload is delivered verbatim: spacing and key order survive.
      const raw = '{"b": 1,   "a": "ünïcode",\n "z": [ ]}';
      const rawMessage = await svix.message.create(
        app.id,
        messageInRaw('test.raw', raw, 'application/json'),
      );

      await waitFor('two deliveries', () => hook.requests.length >= 2);
      const byId = new Map(hook.requests.map((r) => [r.headers['webhook-id'], r]));
      const first = byId.get(message.id);
      const second = byId.get(rawMessage.id);
      assert.ok(first && second, 'each message arrives with its id');
      assert.equal(first.body, JSON.stringify(payload));
      assert.equal(second.body, raw);

      for (const request of [first, second]) {
        const headers = flat(request.headers);
        assert.equal(request.method, 'POST');
        assert.equal(request.path, '/hook');
        assert.doesNotThrow(() => new StandardWebhook(secret).verify(request.body, headers));
        assert.doesNotThrow(() => new SvixWebhook(secret).verify(request.body, headers));
        assert.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/);
        for (const name of ['id', 'timestamp', 'signature']) {
          assert.equal(headers[`svix-${name}`], headers[`webhook-${name}`], `svix-${name}`);
        }
        assert.ok(Math.abs(Number(headers['webhook-timestamp']) - Date.now() / 1000) < 300);
        assert.equal(headers['x-custom'], 'custom-value');
        assert.match(headers['user-agent'], /^Switchboard\/\d+\.\d+\.\d+/);
        assert.equal(headers['content-type'], 'application/json');
        // A tampered body does not verify.
        assert.throws(() => new SvixWebhook(secret).verify(`${request.body} `, headers));
      }

      const attempts = await waitFor('the attempt log', async () => {
        const list = await attemptsOf(app.id, message.id);
        return list.length === 1 && list;
      });
      assert.equal(attempts[0].status, 0);
      assert.equal(attempts[0].responseStatusCode, 200);
      assert.equal(attempts[0].response, 'thanks');
      assert.equal(attempts[0].endpointId, endpoint.id);
      assert.equal(attempts[0].url, hook.url);
    });

    it('signs with the old and the new secret during the grace period after a rotation', async (t) => {
      const { svix } = server;
      const hook = await receiver(t);
      const app = await newApp(t, 'Rotation');
      const endpoint = await svix.endpoint.create(app.id, { url: hook.url });
      const oldSecret = (await svix.endpoint.getSecret(app.id, endpoint.id)).key;
      await svix.endpoint.rotateSecret(app.id, endpoint.id, {});
      const newSecret = (await svix.endpoint.getSecret(app.id, endpoint.id)).key;
      assert.notEqual(newSecret, oldSecret);

      await send(app.id, { rotated: true });
      const [request] = await waitFor(
        'a delivery',
        () => hook.requests.length === 1 && hook.requests,
      );
      const headers = flat(request.headers);
      assert.equal(headers['webhook-signature'].split(' ').length, 2, 'one signature per key');
      for (const secret of [oldSecret, newSecret]) {
        assert.doesNotThrow(() => new StandardWebhook(secret).verify(request.body, headers));
        assert.doesNotThrow(() => new SvixWebhook(secret).verify(request.body, headers));
      }
    });

    it('signs ed25519 (whsk_) endpoints with v1a, verifiable with the whpk_ key', async (t) => {
      const { svix } = server;
      const hook = await receiver(t);
      const app = await newApp(t, 'Ed25519');
      const endpoint = await svix.endpoint.create(app.id, {
        url: hook.url,
        secret: generateSigningKey(),
      });
      const publicKey = (await svix.endpoint.getSecret(app.id, endpoint.id)).key;
      assert.match(publicKey, /^whpk_/);
      await send(app.id, { ed25519: true });
      const [request] = await waitFor(
        'a delivery',
        () => hook.requests.length === 1 && hook.requests,
      );
      const headers = flat(request.headers);
      assert.match(headers['webhook-signature'], /^v1a,[A-Za-z0-9+/]+=*$/);
      assert.equal(verifyWebhook(publicKey, headers, request.body), request.body);
      assert.throws(() => verifyWebhook(publicKey, headers, `${request.body} `));

      // The API refuses a legacy (HMAC) scheme for an ed25519 endpoint; should the options say
      // so anyway, the engine still delivers, with the v1a signature only.
      await server.sb.ctx.db.run('UPDATE endpoints SET options = ? WHERE id = ?', [
        JSON.stringify({ legacySignature: { scheme: 'stripe' } }),
        endpoint.id,
      ]);
      await send(app.id, { ed25519: 'again' });
      await waitFor('a second delivery', () => hook.requests.length === 2);
      assert.equal(hook.requests[1].headers['stripe-signature'], undefined);
      assert.doesNotThrow(() =>
        verifyWebhook(publicKey, flat(hook.requests[1].headers), hook.requests[1].body),
      );
    });

    it('adds a legacy Stripe or GitHub signature header when the endpoint asks', async (t) => {
      const { svix } = server;
      const hook = await receiver(t);
      const app = await newApp(t, 'Legacy');
      const stripe = await createRaw(app.id, {
        url: `${hook.url}?stripe`,
        legacySignature: { scheme: 'stripe' },
      });
      assert.deepEqual(stripe.legacySignature, { scheme: 'stripe' });
      const github = await createRaw(app.id, {
        url: `${hook.url}?github`,
        legacySignature: { scheme: 'github', header: 'X-Signature' },
      });
      assert.deepEqual(github.legacySignature, { scheme: 'github', header: 'x-signature' });
      const stripeSecret = (await svix.endpoint.getSecret(app.id, stripe.id)).key;
      const githubSecret = (await svix.endpoint.getSecret(app.id, github.id)).key;

      await send(app.id, { legacy: true });
      await waitFor('two deliveries', () => hook.requests.length === 2);
      const toStripe = hook.requests.find((r) => r.path.endsWith('?stripe'));
      const toGithub = hook.requests.find((r) => r.path.endsWith('?github'));
      assert.ok(toStripe && toGithub);

      const stripeHeader = toStripe.headers['stripe-signature'];
      assert.ok(typeof stripeHeader === 'string');
      assert.match(stripeHeader, /^t=\d+,v1=[0-9a-f]{64}$/);
      assert.equal(
        verifyStripeStyle(stripeHeader, toStripe.body, stripeSecret, { secretEncoding: 'whsec' }),
        toStripe.body,
      );
      assert.equal(toStripe.headers['x-signature'], undefined);
      // The Standard Webhooks signature is still there.
      assert.doesNotThrow(() =>
        new SvixWebhook(stripeSecret).verify(toStripe.body, flat(toStripe.headers)),
      );

      const githubHeader = toGithub.headers['x-signature'];
      assert.ok(typeof githubHeader === 'string');
      assert.match(githubHeader, /^sha256=[0-9a-f]{64}$/);
      assert.equal(
        verifyGithubStyle(githubHeader, toGithub.body, githubSecret, { secretEncoding: 'whsec' }),
        toGithub.body,
      );
      assert.equal(toGithub.headers['stripe-signature'], undefined);
    });

    // -------------------------------------------------------------------------------------------
    // Delivery options on the API

    it('exposes ordering, retryNon2xx and legacySignature on the endpoint API', async (t) => {
      const { svix } = server;
      const app = await newApp(t, 'Options');
      const path = `/api/v1/app/${app.id}/endpoint`;
      const plain = await svix.endpoint.create(app.id, { url: 'https://example.com/plain' });
      const shown = await server.request('GET', `${path}/${plain.id}`);
      assert.equal(shown.json.ordering, 'unordered');
      assert.equal(shown.json.retryNon2xx, false);
      assert.equal(shown.json.legacySignature, null);

      const custom = await createRaw(app.id, {
        url: 'https://example.com/custom',
        uid: 'custom',
        ordering: 'fifo',
        retryNon2xx: true,
        legacySignature: { scheme: 'github' },
      });
      assert.equal(custom.ordering, 'fifo');
      assert.equal(custom.retryNon2xx, true);
      assert.deepEqual(custom.legacySignature, { scheme: 'github' });
      // The SDK ignores the extensions and still reads the endpoint.
      const viaSdk = await svix.endpoint.get(app.id, 'custom');
      assert.equal(viaSdk.id, custom.id);
      assert.equal(viaSdk.url, 'https://example.com/custom');
      const listed = await svix.endpoint.list(app.id);
      assert.equal(listed.data.length, 2);

      // PATCH: absent = unchanged, null = back to the default.
      const untouched = await server.request('PATCH', `${path}/custom`, {
        body: { description: 'x' },
      });
      assert.equal(untouched.status, 200, untouched.text);
      assert.equal(untouched.json.ordering, 'fifo');
      assert.equal(untouched.json.retryNon2xx, true);
      assert.deepEqual(untouched.json.legacySignature, { scheme: 'github' });
      const cleared = await server.request('PATCH', `${path}/custom`, {
        body: { ordering: null, legacySignature: null },
      });
      assert.equal(cleared.json.ordering, 'unordered');
      assert.equal(cleared.json.retryNon2xx, true);
      assert.equal(cleared.json.legacySignature, null);
      const set = await server.request('PATCH', `${path}/custom`, {
        body: { retryNon2xx: false, legacySignature: { scheme: 'stripe', header: 'Sig' } },
      });
      assert.equal(set.json.retryNon2xx, false);
      assert.deepEqual(set.json.legacySignature, { scheme: 'stripe', header: 'sig' });
      // The SDK's own PATCH leaves the extensions alone.
      await svix.endpoint.patch(app.id, 'custom', { description: 'via sdk' });
      assert.deepEqual((await server.request('GET', `${path}/custom`)).json.legacySignature, {
        scheme: 'stripe',
        header: 'sig',
      });
      // PUT is a full replace: what it leaves out is back to the default.
      const replaced = await server.request('PUT', `${path}/custom`, {
        body: { url: 'https://example.com/custom', uid: 'custom', ordering: 'fifo' },
      });
      assert.equal(replaced.status, 200, replaced.text);
      assert.equal(replaced.json.ordering, 'fifo');
      assert.equal(replaced.json.legacySignature, null);
      // Stored where the engine reads them.
      const row = await server.sb.ctx.db.get<{ options: string }>(
        'SELECT options FROM endpoints WHERE id = ?',
        [custom.id],
      );
      assert.deepEqual(JSON.parse(row?.options ?? ''), {
        ordering: 'fifo',
        retryNon2xx: false,
        legacySignature: null,
      });

      // Bad values: 422 at the field.
      const url = 'https://example.com/bad';
      for (const [body, loc] of [
        [{ url, ordering: 'lifo' }, ['body', 'ordering']],
        [{ url, retryNon2xx: 'yes' }, ['body', 'retryNon2xx']],
        [{ url, legacySignature: { scheme: 'paypal' } }, ['body', 'legacySignature', 'scheme']],
        [
          { url, legacySignature: { scheme: 'stripe', header: 'bad header' } },
          ['body', 'legacySignature', 'header'],
        ],
        [
          { url, legacySignature: { scheme: 'stripe', header: 'svix-signature' } },
          ['body', 'legacySignature', 'header'],
        ],
        [
          { url, legacySignature: { scheme: 'stripe', header: 'Webhook-Signature' } },
          ['body', 'legacySignature', 'header'],
        ],
        [
          { url, legacySignature: { scheme: 'stripe' }, secret: generateSigningKey() },
          ['body', 'legacySignature'],
        ],
      ] as const) {
        const response = await server.request('POST', path, { body });
        assert.equal(response.status, 422, `${JSON.stringify(body)}: ${response.text}`);
        assert.deepEqual(response.json.detail[0].loc.slice(0, loc.length), loc, response.text);
      }
      // An ed25519 key cannot be rotated in under a legacy scheme (it has no HMAC secret).
      await server.request('PATCH', `${path}/custom`, {
        body: { legacySignature: { scheme: 'stripe' } },
      });
      const rotate = await server.request('POST', `${path}/custom/secret/rotate`, {
        body: { key: generateSigningKey() },
      });
      assert.equal(rotate.status, 422, rotate.text);
      assert.equal((await svix.endpoint.list(app.id)).data.length, 2, 'nothing was written');
    });

    it('resets the failure streak of an endpoint re-enabled through PATCH or PUT', async (t) => {
      const { svix } = server;
      const app = await newApp(t, 'Re-enable');
      const endpoint = await svix.endpoint.create(app.id, { url: 'https://example.com/' });
      const streak = async (n: number) =>
        server.sb.ctx.db.run(
          'UPDATE endpoints SET consecutive_failures = ?, failing_since = ? WHERE id = ?',
          [n, Date.now(), endpoint.id],
        );
      await streak(7);
      await svix.endpoint.patch(app.id, endpoint.id, { description: 'still enabled' });
      assert.equal(await failuresOf(endpoint.id), 7, 'an edit of an enabled endpoint keeps it');
      await svix.endpoint.patch(app.id, endpoint.id, { disabled: true });
      await svix.endpoint.patch(app.id, endpoint.id, { disabled: false });
      assert.equal(await failuresOf(endpoint.id), 0);
      await streak(5);
      await svix.endpoint.patch(app.id, endpoint.id, { disabled: true });
      await svix.endpoint.upsert(app.id, endpoint.id, {
        url: 'https://example.com/',
        disabled: false,
      });
      assert.equal(await failuresOf(endpoint.id), 0);
    });

    // -------------------------------------------------------------------------------------------
    // Retries

    it('retries a 503 and then records the success', async (t) => {
      const hook = await receiver(t, (_request, index) => (index === 0 ? 503 : 200));
      const app = await newApp(t, 'Retry 503');
      const endpoint = await server.svix.endpoint.create(app.id, { url: hook.url });
      const message = await send(app.id, { retry: 503 });
      const attempts = await waitFor('two attempts', async () => {
        const list = await attemptsOf(app.id, message.id);
        return list.length === 2 && list;
      });
      // Newest first.
      assert.deepEqual(
        attempts.map((a) => [a.status, a.responseStatusCode]),
        [
          [0, 200],
          [2, 503],
        ],
      );
      assert.equal(hook.requests.length, 2);
      assert.equal(hook.requests[0].headers['webhook-id'], hook.requests[1].headers['webhook-id']);
      const destinations = await server.svix.messageAttempt.listAttemptedDestinations(
        app.id,
        message.id,
      );
      assert.equal(destinations.data[0].id, endpoint.id);
      assert.equal(destinations.data[0].status, 0, 'the delivery succeeded');
      assert.equal(await failuresOf(endpoint.id), 0);
    });

    it('does not retry a 400', async (t) => {
      const hook = await receiver(t, () => 400);
      const app = await newApp(t, 'No retry');
      await server.svix.endpoint.create(app.id, { url: hook.url });
      const message = await send(app.id, { retry: 400 });
      await waitFor('the attempt', async () => (await attemptsOf(app.id, message.id)).length === 1);
      // The next attempt would have been due after 1 s ± 20 %.
      await sleep(2_500);
      assert.equal(hook.requests.length, 1);
      const attempts = await attemptsOf(app.id, message.id);
      assert.equal(attempts.length, 1);
      assert.equal(attempts[0].responseStatusCode, 400);
      const destinations = await server.svix.messageAttempt.listAttemptedDestinations(
        app.id,
        message.id,
      );
      assert.equal(destinations.data[0].status, 2, 'failed for good');
    });

    it('retries a 404 when the endpoint has retryNon2xx', async (t) => {
      const hook = await receiver(t, (_request, index) => (index === 0 ? 404 : 200));
      const app = await newApp(t, 'Retry non-2xx');
      await createRaw(app.id, { url: hook.url, retryNon2xx: true });
      const message = await send(app.id, { retry: 404 });
      const attempts = await waitFor('two attempts', async () => {
        const list = await attemptsOf(app.id, message.id);
        return list.length === 2 && list;
      });
      assert.deepEqual(
        attempts.map((a) => a.responseStatusCode),
        [200, 404],
      );
    });

    it('honours Retry-After on a 429', async (t) => {
      const hook = await receiver(t, (_request, index) =>
        index === 0 ? { status: 429, headers: { 'retry-after': '3' } } : 200,
      );
      const app = await newApp(t, 'Retry-After');
      await server.svix.endpoint.create(app.id, { url: hook.url });
      const message = await send(app.id, { retry: 429 });
      await waitFor('the retry', () => hook.requests.length === 2);
      const gap = hook.requests[1].at - hook.requests[0].at;
      assert.ok(gap >= 3_000, `the retry came ${gap} ms after the 429, not ≥ 3 s`);
      await waitFor(
        'two attempts',
        async () => (await attemptsOf(app.id, message.id)).length === 2,
      );
    });

    // -------------------------------------------------------------------------------------------
    // Endpoint health

    it('disables an endpoint that answers 410 and sends it nothing more', async (t) => {
      const gone = await receiver(t, () => 410);
      const sentinel = await receiver(t);
      const app = await newApp(t, 'Gone');
      const endpoint = await server.svix.endpoint.create(app.id, { url: gone.url });
      await server.svix.endpoint.create(app.id, { url: sentinel.url });
      const first = await send(app.id, { n: 1 });
      await waitFor('the endpoint disabled', async () => {
        return (await server.svix.endpoint.get(app.id, endpoint.id)).disabled;
      });
      const attempts = await attemptsOf(app.id, first.id);
      assert.equal(attempts.filter((a) => a.endpointId === endpoint.id).length, 1, 'no retry');
      await send(app.id, { n: 2 });
      await waitFor('the sentinel got both', () => sentinel.requests.length === 2);
      await sleep(500);
      assert.equal(gone.requests.length, 1);
    });

    it('disables after 20 consecutive failures and sends operational webhooks', async (t) => {
      const { svix } = server;
      const ops = await receiver(t);
      const opEndpoint = await svix.operationalWebhook.endpoint.create({
        url: ops.url,
        eventTypes: ['endpoint.disabled', 'message.attempt.exhausted'],
      });
      t.after(() => svix.operationalWebhook.endpoint.delete(opEndpoint.id));
      const opSecret = (await svix.operationalWebhook.endpoint.getSecret(opEndpoint.id)).key;

      const failing = await receiver(t, () => 400);
      const app = await newApp(t, 'Failing');
      const endpoint = await svix.endpoint.create(app.id, { url: failing.url });
      const exhaustedHook = await receiver(t, () => 500);
      const exhaustedApp = await newApp(t, 'Exhausted');
      await svix.endpoint.create(exhaustedApp.id, { url: exhaustedHook.url });
      const doomed = await send(exhaustedApp.id, { doomed: true });
      for (let n = 0; n < 20; n++) await send(app.id, { n });

      await waitFor('the endpoint disabled', async () => {
        return (await svix.endpoint.get(app.id, endpoint.id)).disabled;
      });
      assert.equal(failing.requests.length, 20);
      const opEvents = () =>
        ops.requests.map((request) => ({ request, event: JSON.parse(request.body) }));
      const disabled = await waitFor('endpoint.disabled', () =>
        opEvents().find(
          ({ event }) =>
            event.type === 'endpoint.disabled' && event.data.endpointId === endpoint.id,
        ),
      );
      assert.equal(disabled.event.data.appId, app.id);
      assert.ok(!Number.isNaN(Date.parse(disabled.event.data.failSince)));
      assert.doesNotThrow(() =>
        new SvixWebhook(opSecret).verify(disabled.request.body, flat(disabled.request.headers)),
      );
      assert.doesNotThrow(() =>
        new StandardWebhook(opSecret).verify(disabled.request.body, flat(disabled.request.headers)),
      );

      // Three attempts (the schedule 0,1,1), then message.attempt.exhausted.
      const exhausted = await waitFor('message.attempt.exhausted', () =>
        opEvents().find(
          ({ event }) =>
            event.type === 'message.attempt.exhausted' && event.data.msgId === doomed.id,
        ),
      );
      assert.equal(exhaustedHook.requests.length, 3);
      assert.equal(exhausted.event.data.appId, exhaustedApp.id);
      assert.equal(exhausted.event.data.lastAttempt.responseStatusCode, 500);
      assert.match(exhausted.event.data.lastAttempt.id, /^atmpt_/);
      assert.doesNotThrow(() =>
        new SvixWebhook(opSecret).verify(exhausted.request.body, flat(exhausted.request.headers)),
      );
      // Nothing this endpoint did not subscribe to.
      assert.ok(
        opEvents().every(({ event }) =>
          ['endpoint.disabled', 'message.attempt.exhausted'].includes(event.type),
        ),
      );
    });

    it('resets the failure count on a success', async (t) => {
      let answer = 400;
      const hook = await receiver(t, () => answer);
      const app = await newApp(t, 'Reset');
      const endpoint = await server.svix.endpoint.create(app.id, { url: hook.url });
      for (let n = 0; n < 15; n++) await send(app.id, { n });
      await waitFor('15 failures', async () => (await failuresOf(endpoint.id)) === 15);
      answer = 200;
      await send(app.id, { n: 'ok' });
      await waitFor('the streak reset', async () => (await failuresOf(endpoint.id)) === 0);
      answer = 400;
      for (let n = 0; n < 10; n++) await send(app.id, { n });
      await waitFor('10 failures', async () => (await failuresOf(endpoint.id)) === 10);
      assert.equal((await server.svix.endpoint.get(app.id, endpoint.id)).disabled, false);
      assert.equal(hook.requests.length, 26);
    });

    it('resets the streak with a success that was in flight while failures were recorded', async (t) => {
      // 60 attempts in flight at once (each sent while the streak was 0), answered in groups of
      // three, a 503 then two 204s: 20 failures in all, never two in a row. Judging a success
      // by the streak when it started would skip its reset and disable the endpoint at 20.
      const WAVE = 60;
      let releaseWave = () => {};
      const wave = new Promise<void>((resolve) => {
        releaseWave = resolve;
      });
      let arrived = 0;
      const hook = await startHook(async () => {
        const index = arrived++;
        if (index >= WAVE) return { status: 204 };
        if (arrived === WAVE) releaseWave();
        await wave;
        await sleep(Math.floor(index / 3) * 15);
        return { status: index % 3 === 0 ? 503 : 204 };
      });
      t.after(() => {
        releaseWave();
        return hook.close();
      });
      const app = await newApp(t, 'Streak in flight');
      const endpoint = await server.svix.endpoint.create(app.id, { url: `${hook.url}/wave` });
      for (let n = 0; n < WAVE; n++) await send(app.id, { n });
      await waitFor('the wave and its retries', () => arrived >= WAVE + 20, 30_000);
      await waitFor('every delivery done', async () => {
        const row = await server.sb.ctx.db.get<{ n: number }>(
          'SELECT COUNT(*) AS n FROM deliveries WHERE endpoint_id = ? AND status <> 0',
          [endpoint.id],
        );
        return Number(row?.n) === 0;
      });
      assert.equal((await server.svix.endpoint.get(app.id, endpoint.id)).disabled, false);
      assert.equal(await failuresOf(endpoint.id), 0);
    });

    // -------------------------------------------------------------------------------------------
    // Throttle, circuit breaker, ordering

    it('spreads deliveries to an endpoint with throttleRate over time', async (t) => {
      const hook = await receiver(t);
      const app = await newApp(t, 'Throttle');
      await server.svix.endpoint.create(app.id, { url: hook.url, throttleRate: 2 });
      const started = Date.now();
      for (let n = 0; n < 6; n++) await send(app.id, { n });
      await waitFor('six deliveries', () => hook.requests.length === 6);
      const times = hook.requests.map((r) => r.at).sort((a, b) => a - b);
      // 2 per second with a burst of 2: the sixth token exists 2 s after the first take.
      assert.ok(times[5] - started >= 2_000, `all six within ${times[5] - started} ms`);
      assert.ok(times[5] - times[0] >= 1_500, `spread over only ${times[5] - times[0]} ms`);
    });

    it("applies the application's throttleRate across all its endpoints", async (t) => {
      const one = await receiver(t);
      const two = await receiver(t);
      const app = await newApp(t, 'App throttle');
      await server.svix.application.patch(app.id, { throttleRate: 2 });
      await server.svix.endpoint.create(app.id, { url: one.url });
      await server.svix.endpoint.create(app.id, { url: two.url });
      const started = Date.now();
      for (let n = 0; n < 3; n++) await send(app.id, { n });
      await waitFor('six deliveries', () => one.requests.length + two.requests.length === 6);
      const last = Math.max(...[...one.requests, ...two.requests].map((r) => r.at));
      // 2 per second for the whole application, burst 2: the sixth token exists after 2 s.
      assert.ok(last - started >= 2_000, `all six within ${last - started} ms`);
    });

    it('opens the circuit breaker of a failing endpoint; its neighbours keep receiving', async (t) => {
      const bad = await receiver(t, () => 500);
      const good = await receiver(t);
      const app = await newApp(t, 'Breaker');
      const badEndpoint = await server.svix.endpoint.create(app.id, { url: bad.url });
      await server.svix.endpoint.create(app.id, { url: good.url });
      const messages = 12;
      for (let n = 0; n < messages; n++) await send(app.id, { n });
      await waitFor('the breaker to have seen 10 failures', () => bad.requests.length >= 10);
      // Without a breaker every message would be tried 3 times within ~2.5 s.
      await sleep(3_500);
      const seen = bad.requests.length;
      assert.ok(seen < messages * 2, `${seen} requests reached the failing endpoint`);
      assert.ok((await failuresOf(badEndpoint.id)) <= seen);
      assert.equal(
        (await server.svix.endpoint.get(app.id, badEndpoint.id)).disabled,
        false,
        'the breaker holds deliveries back instead of burning attempts',
      );
      // The healthy endpoint got everything, and keeps getting new messages.
      await waitFor('the healthy endpoint', () => good.requests.length === messages);
      for (let n = messages; n < messages + 3; n++) await send(app.id, { n });
      await waitFor(
        'new messages at the healthy endpoint',
        () => good.requests.length === messages + 3,
      );
      assert.equal(bad.requests.length, seen, 'still nothing through the open breaker');
    });

    it('delivers in order to a fifo endpoint, waiting for the failing head', async (t) => {
      let failuresOfFirst = 0;
      const hook = await receiver(t, (request) => {
        const { n } = JSON.parse(request.body);
        if (n === 1 && failuresOfFirst < 2) {
          failuresOfFirst++;
          return 500;
        }
        return 200;
      });
      const app = await newApp(t, 'FIFO');
      await createRaw(app.id, { url: hook.url, ordering: 'fifo' });
      for (let n = 1; n <= 5; n++) await send(app.id, { n });
      await waitFor('five messages delivered', () => hook.requests.length === 7);
      assert.deepEqual(
        hook.bodies().map((body) => body.n),
        [1, 1, 1, 2, 3, 4, 5],
      );
    });

    // -------------------------------------------------------------------------------------------
    // SSRF

    it('refuses endpoints that resolve to private addresses, without retrying', async (t) => {
      dnsTable.set('internal.example.test', () => [v4('10.0.0.1')]);
      const app = await newApp(t, 'SSRF');
      await server.svix.endpoint.create(app.id, { url: 'https://internal.example.test/hook' });
      const message = await send(app.id, { ssrf: 1 });
      const [attempt] = await waitFor('the refused attempt', async () => {
        const list = await attemptsOf(app.id, message.id);
        return list.length === 1 && list;
      });
      assert.equal(attempt.responseStatusCode, 0);
      assert.equal(attempt.status, 2);
      assert.match(attempt.response, /refused/);
      assert.match(attempt.response, /10\.0\.0\.1/);
      await sleep(2_500);
      assert.equal((await attemptsOf(app.id, message.id)).length, 1, 'a refusal is not retried');
    });

    it('refuses a DNS rebinding answer at connect time', async (t) => {
      const hook = await receiver(t, () => ({ status: 200, headers: { connection: 'close' } }));
      // First answer loopback (allowed in tests), then a private address.
      const rebind = `rebind-${backend}.localhost`;
      const mixedName = `mixed-${backend}.localhost`;
      dnsTable.set(rebind, (call) => [v4(call === 0 ? '127.0.0.1' : '10.0.0.5')]);
      // One answer with both: one private address among allowed ones is refused.
      dnsTable.set(mixedName, () => [v4('127.0.0.1'), v4('10.0.0.5')]);
      const app = await newApp(t, 'Rebinding');
      await server.svix.endpoint.create(app.id, {
        url: `http://${rebind}:${hook.port}/hook`,
        eventTypes: null,
        channels: ['rebind'],
      });
      await server.svix.endpoint.create(app.id, {
        url: `http://${mixedName}:${hook.port}/hook`,
        channels: ['mixed'],
      });
      const create = (channel: string, n: number) =>
        server.svix.message.create(app.id, {
          eventType: 'test.event',
          payload: { n },
          channels: [channel],
        });

      const first = await create('rebind', 1);
      await waitFor('the first delivery', () => hook.requests.length === 1);
      await waitFor('its attempt', async () => (await attemptsOf(app.id, first.id)).length === 1);
      const second = await create('rebind', 2);
      const [refused] = await waitFor('the refused attempt', async () => {
        const list = await attemptsOf(app.id, second.id);
        return list.length === 1 && list;
      });
      assert.equal(refused.responseStatusCode, 0);
      assert.match(refused.response, /refused.*10\.0\.0\.5/);

      const mixed = await create('mixed', 3);
      const [mixedAttempt] = await waitFor('the mixed answer refused', async () => {
        const list = await attemptsOf(app.id, mixed.id);
        return list.length === 1 && list;
      });
      assert.equal(mixedAttempt.responseStatusCode, 0);
      assert.match(mixedAttempt.response, /refused.*10\.0\.0\.5/);
      await sleep(1_500);
      assert.equal(hook.requests.length, 1, 'only the first request reached the receiver');
    });

    it('refuses http:// to a public name when the endpoint is registered', async (t) => {
      const app = await newApp(t, 'Plain http');
      const response = await server.request('POST', `/api/v1/app/${app.id}/endpoint`, {
        body: { url: 'http://public.example.com/hook' },
      });
      assert.equal(response.status, 422);
      assert.deepEqual(response.json.detail[0].loc, ['body', 'url']);
      assert.match(response.json.detail[0].msg, /https:\/\//);
      const local = await server.request('POST', `/api/v1/app/${app.id}/endpoint`, {
        body: { url: 'http://127.0.0.1:9/hook' },
      });
      assert.equal(local.status, 201, 'http:// is fine for an allowed network');
      const health = await server.request('GET', '/api/v1/health', { token: null });
      assert.equal(health.status, 200);
    });

    // -------------------------------------------------------------------------------------------
    // Operational webhook endpoints and endpoint.* events

    it('manages operational webhook endpoints through the svix SDK', async () => {
      const { svix } = server;
      const endpoints = svix.operationalWebhook.endpoint;
      const created = await endpoints.create({
        url: 'https://ops.example.com/hook',
        uid: 'ops-main',
        description: 'Ops',
        eventTypes: ['endpoint.disabled'],
        metadata: { team: 'sre' },
        throttleRate: 10,
        headers: { 'X-Team': 'sre' },
      });
      assert.match(created.id, /^ep_/);
      assert.equal(created.url, 'https://ops.example.com/hook');
      assert.deepEqual(created.eventTypes, ['endpoint.disabled']);
      assert.equal(created.throttleRate, 10);
      assert.equal((await endpoints.get('ops-main')).id, created.id);
      assert.ok((await endpoints.list()).data.some((e) => e.id === created.id));

      // The Svix reference spelling: filterTypes and rateLimit.
      const raw = await server.request('POST', '/api/v1/operational-webhook/endpoint', {
        body: {
          url: 'https://ops.example.com/raw',
          filterTypes: ['message.attempt.failing'],
          rateLimit: 3,
        },
      });
      assert.equal(raw.status, 201, raw.text);
      assert.deepEqual(raw.json.filterTypes, ['message.attempt.failing']);
      assert.deepEqual(raw.json.eventTypes, ['message.attempt.failing']);
      assert.equal(raw.json.rateLimit, 3);

      const upserted = await endpoints.upsert('ops-main', {
        url: 'https://ops.example.com/v2',
        uid: 'ops-main',
        eventTypes: ['endpoint.created', 'endpoint.deleted'],
      });
      assert.equal(upserted.id, created.id);
      assert.equal(upserted.url, 'https://ops.example.com/v2');
      const patched = await server.request(
        'PATCH',
        `/api/v1/operational-webhook/endpoint/${created.id}`,
        {
          body: { disabled: true },
        },
      );
      assert.equal(patched.status, 200, patched.text);
      assert.equal(patched.json.disabled, true);
      assert.deepEqual(patched.json.eventTypes, ['endpoint.created', 'endpoint.deleted']);

      const secret = (await endpoints.getSecret(created.id)).key;
      assert.match(secret, /^whsec_/);
      await endpoints.rotateSecret(created.id, {});
      assert.notEqual((await endpoints.getSecret(created.id)).key, secret);
      assert.deepEqual(await endpoints.getHeaders(created.id), {
        headers: { 'X-Team': 'sre' },
        sensitive: [],
      });
      await endpoints.setHeaders(created.id, { headers: { Authorization: 'Bearer x' } });
      assert.deepEqual(await endpoints.getHeaders(created.id), {
        headers: {},
        sensitive: ['Authorization'],
      });

      // Only operational event names; the operational app is invisible as an application.
      const bad = await server.request('POST', '/api/v1/operational-webhook/endpoint', {
        body: { url: 'https://ops.example.com/bad', eventTypes: ['user.signup'] },
      });
      assert.equal(bad.status, 422, bad.text);
      assert.deepEqual(bad.json.detail[0].loc, ['body', 'eventTypes']);
      const apps = await svix.application.list({ limit: 250 });
      assert.ok(apps.data.every((a) => !a.uid?.startsWith('switchboard:')));
      const opAppEndpoints = await server.request(
        'GET',
        `/api/v1/app/switchboard:operational/endpoint`,
      );
      assert.equal(opAppEndpoints.status, 404);

      await endpoints.delete(created.id);
      await assert.rejects(endpoints.get(created.id), status(404));
      await endpoints.delete(raw.json.id);
      await assert.rejects(endpoints.delete('nope'), status(404));
    });

    it('refuses operational webhook endpoints to application-scoped keys', async () => {
      const app = await server.svix.application.create({ name: 'Scoped' });
      const { token, prefix, hash } = generateToken();
      await insertApiKey(server.sb.ctx.db, {
        id: newId('apiKey'),
        name: 'app key',
        prefix,
        hash,
        appId: app.id as AppId,
        scopes: null,
        createdAt: Date.now(),
        lastUsedAt: null,
        expiresAt: null,
        revokedAt: null,
      });
      for (const [method, path] of [
        ['GET', '/api/v1/operational-webhook/endpoint'],
        ['POST', '/api/v1/operational-webhook/endpoint'],
      ] as const) {
        const response = await server.request(method, path, {
          token,
          body: method === 'POST' ? { url: 'https://x.example.com/' } : undefined,
        });
        assert.equal(response.status, 403, `${method} ${path}: ${response.text}`);
      }
    });

    it('sends endpoint.created, endpoint.updated and endpoint.deleted', async (t) => {
      const { svix } = server;
      const ops = await receiver(t);
      const opEndpoint = await svix.operationalWebhook.endpoint.create({
        url: ops.url,
        eventTypes: ['endpoint.created', 'endpoint.updated', 'endpoint.deleted'],
      });
      t.after(() => svix.operationalWebhook.endpoint.delete(opEndpoint.id));
      const opSecret = (await svix.operationalWebhook.endpoint.getSecret(opEndpoint.id)).key;

      const app = await svix.application.create({ name: 'Changes', uid: `changes-${backend}` });
      const endpoint = await svix.endpoint.create(app.id, {
        url: 'https://example.com/changes',
        uid: 'watched',
      });
      await svix.endpoint.patch(app.id, endpoint.id, { description: 'patched' });
      await svix.endpoint.upsert(app.id, endpoint.id, {
        url: 'https://example.com/put',
        uid: 'watched',
      });
      await svix.endpoint.rotateSecret(app.id, endpoint.id, {});
      const byPut = await svix.endpoint.upsert(app.id, 'made-by-put', {
        url: 'https://example.com/made',
        uid: 'made-by-put',
      });
      await svix.endpoint.delete(app.id, endpoint.id);

      const mine = () =>
        ops.requests
          .map((request) => ({ request, event: JSON.parse(request.body) }))
          .filter(({ event }) => event.data.appId === app.id);
      await waitFor('six operational webhooks', () => mine().length === 6);
      // Message ids increase with creation (byte order, not locale order).
      const idOf = (entry: { request: Received }) => String(entry.request.headers['webhook-id']);
      const events = mine().sort((a, b) => (idOf(a) < idOf(b) ? -1 : 1));
      assert.deepEqual(
        events.map(({ event }) => [event.type, event.data.endpointId]),
        [
          ['endpoint.created', endpoint.id],
          ['endpoint.updated', endpoint.id],
          ['endpoint.updated', endpoint.id],
          ['endpoint.updated', endpoint.id],
          ['endpoint.created', byPut.id],
          ['endpoint.deleted', endpoint.id],
        ],
      );
      assert.deepEqual(events[0].event.data, {
        appId: app.id,
        appUid: `changes-${backend}`,
        endpointId: endpoint.id,
        endpointUid: 'watched',
      });
      for (const { request } of events) {
        assert.doesNotThrow(() =>
          new SvixWebhook(opSecret).verify(request.body, flat(request.headers)),
        );
      }
      await svix.endpoint.delete(app.id, byPut.id);
    });
  });
}
