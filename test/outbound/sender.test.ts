/**
 * The HTTP sender against real local servers: what an attempt keeps of an answer (status,
 * Retry-After, a capped excerpt, base64 for bytes that are not UTF-8), and how it ends when
 * the receiver misbehaves (never answers, drips its body, refuses the connection).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { WebhookSender } from '../../src/outbound/sender.js';
import { parseAllowedNetworks } from '../../src/outbound/ssrf.js';
import { startHook } from '../helpers/hook.js';

const LOOPBACK = parseAllowedNetworks(['127.0.0.0/8', '::1/128']);

function sender(t: TestContext, options: { timeoutMs?: number; responseCapBytes?: number } = {}) {
  const created = new WebhookSender({
    allowList: LOOPBACK,
    userAgent: 'Switchboard/test',
    ...options,
  });
  t.after(() => created.close());
  return created;
}

/** A raw node:http server whose handler the test writes (for answers the hook cannot give). */
async function serve(
  t: TestContext,
  handler: Parameters<typeof createServer>[1],
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

// A deadline that no longer works must fail these tests, not hang them.
describe('webhook sender', { timeout: 10_000 }, () => {
  it('POSTs the body and headers as given, and keeps status, Retry-After and the answer', async (t) => {
    const hook = await startHook(() => ({
      status: 429,
      headers: { 'retry-after': '7' },
      body: 'slow down',
    }));
    t.after(() => hook.close());
    const result = await sender(t).send(
      `${hook.url}/in?x=1`,
      { 'webhook-id': 'msg_1', 'webhook-signature': 'v1,abc' },
      '{"a":1}',
    );
    assert.deepEqual(result.outcome, { kind: 'response', status: 429, retryAfter: '7' });
    assert.equal(result.statusCode, 429);
    assert.equal(result.response, 'slow down');
    const [hit] = hook.hitsAt('/in?x=1');
    assert.equal(hit?.body.toString(), '{"a":1}');
    assert.equal(hit?.headers['webhook-id'], 'msg_1');
    assert.equal(hit?.headers['webhook-signature'], 'v1,abc');
    assert.equal(hit?.headers['content-type'], 'application/json');
    assert.equal(hit?.headers['user-agent'], 'Switchboard/test');
  });

  it('keeps only the first bytes of a long answer, and still counts it as answered', async (t) => {
    const { url } = await serve(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      // Several chunks, far past the cap.
      for (let i = 0; i < 50; i++) res.write('0123456789'.repeat(100));
      res.end();
    });
    const result = await sender(t, { responseCapBytes: 1500 }).send(url, {}, '{}');
    assert.deepEqual(result.outcome, { kind: 'response', status: 200, retryAfter: null });
    assert.equal(result.response.length, 1500);
    assert.equal(result.response, '0123456789'.repeat(150));
  });

  it('keeps an answer that is not UTF-8 as base64', async (t) => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41, 0xc3]);
    const { url } = await serve(t, (_req, res) => res.writeHead(500).end(bytes));
    const result = await sender(t).send(url, {}, '{}');
    assert.equal(result.statusCode, 500);
    assert.equal(result.response, bytes.toString('base64'));
  });

  it('times out a receiver that never answers', async (t) => {
    const { url } = await serve(t, () => {}); // reads the request, answers nothing
    const result = await sender(t, { timeoutMs: 300 }).send(url, {}, '{}');
    assert.equal(result.outcome.kind, 'timeout');
    assert.equal(result.statusCode, 0);
    assert.match(result.response, /no response within 300 ms/);
  });

  it('says a timeout was never sent when every connection to the endpoint stayed busy', async (t) => {
    let received = 0;
    const { url } = await serve(t, () => {
      received += 1; // reads the request, answers nothing
    });
    const send = sender(t, { timeoutMs: 300 });
    // One more than the 64 connections per origin: the last waits for a connection that no
    // answer ever frees, and its deadline (from the hand-over) passes before it is written.
    const results = await Promise.all(Array.from({ length: 65 }, () => send.send(url, {}, '{}')));
    assert.ok(results.every((result) => result.outcome.kind === 'timeout'));
    const notSent = results.filter((result) =>
      /^timeout: not sent within 300 ms/.test(result.response),
    );
    const unanswered = results.filter((result) =>
      /^timeout: no response within 300 ms/.test(result.response),
    );
    assert.ok(notSent.length >= 1, 'the queued attempt says it was not sent');
    assert.equal(unanswered.length, received, 'every written attempt says it had no answer');
    assert.equal(notSent.length + unanswered.length, 65);
  });

  it('times out a receiver that drips its answer, however short each gap', async (t) => {
    const { url } = await serve(t, (_req, res) => {
      res.writeHead(200);
      const drip = setInterval(() => res.write('.'), 50);
      res.on('close', () => clearInterval(drip));
    });
    const started = performance.now();
    const result = await sender(t, { timeoutMs: 400 }).send(url, {}, '{}');
    assert.equal(result.outcome.kind, 'timeout');
    // Each gap (50 ms) is far below the timeout: only the whole-attempt deadline ends it.
    assert.ok(performance.now() - started >= 400);
  });

  it('reports a refused connection as a network error', async (t) => {
    const { server, url } = await serve(t, () => {});
    server.close();
    await once(server, 'close');
    const result = await sender(t).send(url, {}, '{}');
    assert.equal(result.outcome.kind, 'network-error');
    assert.match(result.response, /ECONNREFUSED/);
  });

  it('sends nothing for a key that cannot sign, and fails the attempt saying why', async (t) => {
    const hook = await startHook();
    t.after(() => hook.close());
    const result = await sender(t).send(`${hook.url}/x`, {}, '{}', {
      msgId: 'msg_1',
      timestampSeconds: 1_700_000_000,
      keys: ['whsec_not*base64'],
      legacy: null,
    });
    assert.equal(result.outcome.kind, 'network-error');
    assert.match(result.response, /^not sent: the endpoint's signing key is unusable/);
    assert.equal(hook.hits.length, 0);
  });

  it('refuses a destination outside the allowed networks without connecting', async (t) => {
    const result = await sender(t).send('http://10.0.0.1:9/hook', {}, '{}');
    assert.equal(result.outcome.kind, 'refused');
    assert.equal(result.statusCode, 0);
  });
});
