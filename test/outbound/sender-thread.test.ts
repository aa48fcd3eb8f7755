/**
 * The sender thread: HTTP attempts made by a `WebhookSender` on a worker thread, against real
 * local receivers. What must hold across the hop: every result reaches its own attempt, the
 * SSRF guard still runs, a thread that dies loses no attempt silently, and close ends it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { Webhook } from 'standardwebhooks';
import { createMessage } from '../../src/outbound/messages.js';
import { WebhookSender } from '../../src/outbound/sender.js';
import { ThreadedSender } from '../../src/outbound/sender-thread.js';
import { generateSecret, verifyGithubStyle } from '../../src/outbound/signing.js';
import { parseAllowedNetworks } from '../../src/outbound/ssrf.js';
import { type Hit, type Hook, type HookAnswer, startHook } from '../helpers/hook.js';
import { adminApi, spawnServer, stopServer } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const LOOPBACK = ['127.0.0.0/8', '::1/128'];

/** Answers each request with its own `x-n` header, and the status its `x-status` asks for. */
const echo = (hit: Hit): HookAnswer => ({
  status: Number(hit.headers['x-status'] ?? 200),
  body: `echo ${hit.headers['x-n'] ?? ''}`,
});

function threaded(
  allowedNetworks: string[],
  onFailure: (error: Error, fellBack: boolean) => void = () => {},
) {
  return new ThreadedSender(
    { allowedNetworks, userAgent: 'Switchboard/test' },
    () => assert.fail('the thread starts: no fallback'),
    onFailure,
  );
}

/** An echo hook and a thread that must not fail, both closed when the test ends. */
async function echoAndThread(t: TestContext) {
  const hook = await startHook(echo);
  const sender = threaded(LOOPBACK, (error) => assert.fail(`the thread failed: ${error}`));
  t.after(async () => {
    await sender.close();
    await hook.close();
  });
  return { hook, sender };
}

describe('sender thread', () => {
  it('makes the POST on the thread and brings each result back to its own attempt', async (t) => {
    const { hook, sender } = await echoAndThread(t);
    const one = await sender.send(
      `${hook.url}/one`,
      { 'webhook-id': 'msg_1', 'x-n': 'one' },
      '{"a":1}',
    );
    assert.equal(one.statusCode, 200);
    assert.deepEqual(one.outcome, { kind: 'response', status: 200, retryAfter: null });
    assert.equal(one.response, 'echo one');
    assert.ok(one.durationMs >= 0);
    const [hit] = hook.hitsAt('/one');
    assert.equal(hit.body.toString(), '{"a":1}');
    assert.equal(hit.headers['webhook-id'], 'msg_1');
    assert.equal(hit.headers['user-agent'], 'Switchboard/test');
    assert.equal(hit.headers['content-type'], 'application/json');

    // Many in one turn of the event loop cross as one batch; answers come back in any order.
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, n) =>
        sender.send(
          `${hook.url}/many`,
          { 'x-n': String(n), 'x-status': n % 7 === 0 ? '503' : '200' },
          `{"n":${n}}`,
        ),
      ),
    );
    results.forEach((result, n) => {
      assert.equal(result.response, `echo ${n}`);
      assert.equal(result.statusCode, n % 7 === 0 ? 503 : 200);
    });
    assert.equal(hook.hitsAt('/many').length, 300);
  });

  it('refuses, on the thread, what the SSRF guard refuses', async (t) => {
    const hook = await startHook(echo);
    // Nothing allowed: loopback is a private address.
    const sender = threaded([]);
    t.after(async () => {
      await sender.close();
      await hook.close();
    });
    const byAddress = await sender.send(hook.url, {}, '{}');
    assert.equal(byAddress.outcome.kind, 'refused');
    assert.match(byAddress.response, /loopback/);
    // A host name is checked when the thread connects, in its DNS hook.
    const byName = await sender.send(hook.url.replace('127.0.0.1', 'localhost'), {}, '{}');
    assert.equal(byName.outcome.kind, 'refused');
    const scheme = await sender.send('file:///etc/passwd', {}, '{}');
    assert.equal(scheme.outcome.kind, 'refused');
    assert.equal(hook.hits.length, 0, 'nothing reached the receiver');
  });

  it('ends the attempts of a thread that dies as network errors, and starts a new one', async (t) => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const hook = await startHook(async (hit) => {
      if (hit.path === '/held') await held;
      return echo(hit);
    });
    const failures: [Error, boolean][] = [];
    const sender = threaded(LOOPBACK, (error, fellBack) => failures.push([error, fellBack]));
    t.after(async () => {
      release();
      await sender.close();
      await hook.close();
    });
    const pending = sender.send(`${hook.url}/held`, {}, '{}');
    await waitFor('the held request', () => hook.hits.length === 1);
    // Kill the thread while it holds the attempt (as an out-of-memory error would).
    await (sender as unknown as { worker: Worker }).worker.terminate();
    const lost = await pending;
    assert.equal(lost.outcome.kind, 'network-error');
    assert.match(lost.response, /sender thread failed/);
    assert.equal(failures.length, 1);
    assert.equal(failures[0][1], false, 'it had started: a new thread, no fallback');

    const next = await sender.send(`${hook.url}/after`, { 'x-n': 'after' }, '{}');
    assert.equal(next.statusCode, 200);
    assert.equal(next.response, 'echo after');
  });

  it('sends in process when the thread cannot start, losing nothing', async (t) => {
    const hook = await startHook(echo);
    const failures: [Error, boolean][] = [];
    // An address list the thread cannot parse makes it fail while starting (the server checks
    // the list before it gets here; this only stands in for a thread that cannot boot).
    const sender = new ThreadedSender(
      { allowedNetworks: ['not-a-network'], userAgent: 'Switchboard/test' },
      () =>
        new WebhookSender({ allowList: parseAllowedNetworks(LOOPBACK), userAgent: 'in-process' }),
      (error, fellBack) => failures.push([error, fellBack]),
    );
    t.after(async () => {
      await sender.close();
      await hook.close();
    });
    const first = await Promise.all(
      Array.from({ length: 5 }, (_, n) => sender.send(hook.url, { 'x-n': String(n) }, '{}')),
    );
    assert.deepEqual(
      first.map((result) => result.response),
      ['echo 0', 'echo 1', 'echo 2', 'echo 3', 'echo 4'],
    );
    const later = await sender.send(hook.url, { 'x-n': 'later' }, '{}');
    assert.equal(later.response, 'echo later');
    assert.equal(failures.length, 1, 'one failure, no thread started again');
    assert.equal(failures[0][1], true);
    assert.match(failures[0][0].message, /not-a-network/);
    assert.equal(hook.hits.length, 6);
    assert.ok(hook.hits.every((hit) => hit.headers['user-agent'] === 'in-process'));
  });

  it('signs on the thread: Standard Webhooks with every key, and the legacy scheme', async (t) => {
    const { hook, sender } = await echoAndThread(t);
    const current = generateSecret();
    const rotatedOut = generateSecret();
    const body = '{"type":"invoice.paid"}';
    const timestampSeconds = Math.floor(Date.now() / 1000);
    const result = await sender.send(`${hook.url}/signed`, { 'x-custom': 'kept' }, body, {
      msgId: 'msg_signed',
      timestampSeconds,
      keys: [current, rotatedOut],
      legacy: { scheme: 'github' },
    });
    assert.equal(result.statusCode, 200);
    const [hit] = hook.hitsAt('/signed');
    assert.equal(hit.headers['x-custom'], 'kept');
    assert.equal(hit.headers['webhook-id'], 'msg_signed');
    assert.equal(hit.headers['svix-id'], 'msg_signed');
    // Either key verifies it, with an independent implementation.
    for (const secret of [current, rotatedOut]) {
      assert.doesNotThrow(() => new Webhook(secret).verify(hit.body.toString(), hit.headers));
    }
    const github = hit.headers['x-hub-signature-256'];
    assert.ok(github !== undefined);
    assert.equal(
      verifyGithubStyle(github, hit.body.toString(), current, { secretEncoding: 'whsec' }),
      hit.body.toString(),
    );
  });

  it('sends nothing for a key that cannot sign, and says why', async (t) => {
    const { hook, sender } = await echoAndThread(t);
    const result = await sender.send(`${hook.url}/corrupt`, {}, '{}', {
      msgId: 'msg_corrupt',
      timestampSeconds: Math.floor(Date.now() / 1000),
      keys: ['whsec_not*base64'],
      legacy: null,
    });
    assert.equal(result.outcome.kind, 'network-error');
    assert.match(result.response, /^not sent: the endpoint's signing key is unusable \(.*secret/i);
    assert.equal(hook.hits.length, 0);
  });

  it('lets attempts under way finish at close, and sends nothing after it', async (t) => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const hook = await startHook(async (hit) => {
      await held;
      return echo(hit);
    });
    const sender = threaded(LOOPBACK);
    t.after(async () => {
      release();
      await hook.close();
    });
    const underway = sender.send(hook.url, { 'x-n': 'underway' }, '{}');
    await waitFor('the request under way', () => hook.hits.length === 1);
    const closing = sender.close();
    setTimeout(release, 50);
    assert.equal((await underway).response, 'echo underway');
    await closing;
    const late = await sender.send(hook.url, {}, '{}');
    assert.equal(late.outcome.kind, 'network-error');
    assert.equal(hook.hits.length, 1);
  });
});

describe('deliveries through the sender thread', () => {
  let server: TestServer;
  let hook: Hook;
  before(async () => {
    server = await startTestServer('sqlite');
    hook = await startHook();
  });
  after(async () => {
    await server?.close();
    if (hook) await hook.close();
  });

  it('is what a server uses by default, and delivers signed webhooks through it', async () => {
    // The wiring, read through private fields: dispatcher → transports → HTTP transport.
    const dispatcher = server.sb.dispatcher as unknown as {
      transports: { transports: { http: { sender: unknown } } };
    };
    assert.ok(
      dispatcher.transports.transports.http.sender instanceof ThreadedSender,
      'the default sender is the thread',
    );
    const app = await server.svix.application.create({ name: 'thread' });
    const endpoint = await server.svix.endpoint.create(app.id, { url: `${hook.url}/thread` });
    const secret = await server.svix.endpoint.getSecret(app.id, endpoint.id);
    for (let n = 0; n < 20; n++) {
      await createMessage(server.sb.ctx, app.id, { eventType: 'thread.test', payload: { n } });
    }
    await waitFor('20 deliveries', () => hook.hits.length === 20);
    const verifier = new Webhook(secret.key);
    const seen = hook.hits.map(
      (hit) => (verifier.verify(hit.body.toString(), hit.headers) as { n: number }).n,
    );
    assert.deepEqual(
      seen.sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, n) => n),
    );
    await waitFor('20 attempts recorded', async () => {
      const attempts = await server.svix.messageAttempt.listByEndpoint(app.id, endpoint.id);
      return (
        attempts.data.length === 20 && attempts.data.every((a) => a.responseStatusCode === 204)
      );
    });
  });

  it('delivers from a server started in another working directory', async (t) => {
    // The thread loads its code itself: nothing it imports may depend on the working directory.
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-cwd-'));
    const token = 'test_admin_cwd_sender_thread';
    const server = await spawnServer(
      {
        DATABASE_URL: `sqlite:${join(dir, 'switchboard.db')}`,
        SWITCHBOARD_DATA_DIR: dir,
        SWITCHBOARD_ADMIN_TOKEN: token,
        SWITCHBOARD_ALLOWED_NETWORKS: '127.0.0.0/8',
      },
      dir,
    );
    t.after(async () => {
      await stopServer(server);
      rmSync(dir, { recursive: true, force: true });
    });
    const api = adminApi(token);
    const app = await api(server, 'POST', '/api/v1/app', { name: 'cwd' });
    await api(server, 'POST', `/api/v1/app/${app.id}/endpoint`, { url: `${hook.url}/cwd` });
    await api(server, 'POST', `/api/v1/app/${app.id}/msg`, {
      eventType: 'cwd.test',
      payload: { from: 'elsewhere' },
    });
    await waitFor('the delivery', () => hook.hitsAt('/cwd').length === 1);
    assert.match(hook.hitsAt('/cwd')[0].body.toString(), /elsewhere/);
  });
});
