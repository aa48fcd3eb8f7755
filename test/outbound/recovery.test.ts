import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { backends } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** A receiver whose answer can be switched, recording each accepted body by webhook-id. */
async function startReceiver() {
  const received: { id: string; body: string }[] = [];
  let status = 200;
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      if (status < 300) received.push({ id: String(request.headers['webhook-id']), body });
      response.statusCode = status;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    answer(code: number) {
      status = code;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const backend of await backends()) {
  describe(`recovery and stats (${backend})`, () => {
    let server: TestServer;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    before(async () => {
      server = await startTestServer(backend, { SWITCHBOARD_RETRY_SCHEDULE: '0' });
      receiver = await startReceiver();
    });
    after(async () => {
      await server.close();
      await receiver.close();
    });

    it('recovers failed messages once the endpoint works again', async () => {
      const { svix } = server;
      const app = await svix.application.create({ name: 'recover' });
      const endpoint = await svix.endpoint.create(app.id, { url: receiver.url });
      receiver.answer(400);
      const since = new Date(Date.now() - 1000);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.push(
          (await svix.message.create(app.id, { eventType: 'order.failed', payload: { i } })).id,
        );
      }
      await until(async () => {
        const stats = await svix.endpoint.getStats(app.id, endpoint.id);
        return stats.fail === 3 && stats.pending === 0 && stats.sending === 0;
      }, 'three final failures');
      assert.equal(receiver.received.length, 0);

      receiver.answer(200);
      const task = await svix.endpoint.recover(app.id, endpoint.id, { since });
      assert.match(task.id, /^qtask_/);
      assert.equal(task.task, 'endpoint.recover');
      await until(() => receiver.received.length === 3, 'three recovered deliveries');
      assert.deepEqual(receiver.received.map((r) => r.id).sort(), [...ids].sort());
      // The receiver sees a request before the worker has recorded its answer.
      await until(async () => {
        const stats = await svix.endpoint.getStats(app.id, endpoint.id);
        return stats.success === 3 && stats.sending === 0;
      }, 'three recorded successes');

      const again = await server.request(
        'POST',
        `/api/v1/app/${app.id}/endpoint/${endpoint.id}/recover`,
        {
          body: { since: since.toISOString() },
        },
      );
      assert.equal(again.status, 202);
      assert.equal(again.json.queued, 0, 'succeeded messages are not recovered twice');

      const stats = await svix.endpoint.getStats(app.id, endpoint.id);
      assert.equal(stats.success, 3);
      assert.equal(stats.fail, 3);
      const attempts = await svix.messageAttempt.listByMsg(app.id, ids[0]);
      assert.deepEqual(
        attempts.data.map((a) => a.triggerType).sort(),
        [0, 1],
        'scheduled then manual',
      );
    });

    it('replays messages an endpoint never received, honouring its filters', async () => {
      const { svix } = server;
      receiver.received.length = 0;
      receiver.answer(200);
      const app = await svix.application.create({ name: 'replay' });
      await svix.eventType.create({ name: 'user.created', description: 'u' }).catch(() => {});
      const since = new Date(Date.now() - 1000);
      const wanted = await svix.message.create(app.id, {
        eventType: 'user.created',
        payload: { n: 1 },
      });
      await svix.message.create(app.id, { eventType: 'user.deleted', payload: { n: 2 } });
      const endpoint = await svix.endpoint.create(app.id, {
        url: receiver.url,
        eventTypes: ['user.created'],
      });
      const task = await svix.endpoint.replayMissing(app.id, endpoint.id, { since });
      assert.equal(task.task, 'endpoint.replay');
      await until(() => receiver.received.length === 1, 'the replayed message');
      assert.equal(receiver.received[0].id, wanted.id);
      assert.deepEqual(JSON.parse(receiver.received[0].body), { n: 1 });
    });

    it('sends a test event and an event type example to one endpoint', async () => {
      const { svix } = server;
      receiver.received.length = 0;
      const app = await svix.application.create({ name: 'examples' });
      const one = await svix.endpoint.create(app.id, { url: receiver.url });
      await svix.endpoint.create(app.id, { url: `${receiver.url}?other` });
      const ping = await svix.endpoint.sendExample(app.id, one.id, { eventType: 'svix.ping' });
      assert.equal(ping.eventType, 'svix.ping');
      await until(() => receiver.received.length === 1, 'the ping');
      assert.deepEqual(JSON.parse(receiver.received[0].body), { success: true });
      await svix.eventType.create({
        name: 'invoice.sent',
        description: 'i',
        schemas: { '1': { type: 'object', examples: [{ invoice: 1 }, { invoice: 2 }] } },
      });
      await svix.endpoint.sendExample(app.id, one.id, {
        eventType: 'invoice.sent',
        exampleIndex: 1,
      });
      await until(() => receiver.received.length === 2, 'the example');
      assert.deepEqual(JSON.parse(receiver.received[1].body), { invoice: 2 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(receiver.received.length, 2, 'the other endpoint got nothing');

      const noExample = await server.request(
        'POST',
        `/api/v1/app/${app.id}/endpoint/${one.id}/send-example`,
        {
          body: { eventType: 'invoice.sent', exampleIndex: 5 },
        },
      );
      assert.equal(noExample.status, 400);
      assert.equal(noExample.json.code, 'invalid_scheme');
      const unknown = await server.request(
        'POST',
        `/api/v1/app/${app.id}/endpoint/${one.id}/send-example`,
        {
          body: { eventType: 'no.such.type' },
        },
      );
      assert.equal(unknown.status, 404);
    });

    it('reports per-application stats by event type', async () => {
      const { svix } = server;
      receiver.answer(200);
      const app = await svix.application.create({ name: 'stats' });
      await svix.endpoint.create(app.id, { url: receiver.url });
      for (let i = 0; i < 4; i++)
        await svix.message.create(app.id, { eventType: i < 3 ? 'a.b' : 'c.d', payload: {} });
      await until(async () => {
        const stats = await server.request('GET', `/api/v1/app/${app.id}/stats`);
        return stats.json.attempts === 4;
      }, 'four attempts');
      const stats = (await server.request('GET', `/api/v1/app/${app.id}/stats`)).json;
      assert.equal(stats.messages, 4);
      assert.equal(stats.successRate, 1);
      assert.equal(typeof stats.averageLatencyMs, 'number');
      assert.deepEqual(
        stats.byEventType.map((row: { eventType: string; attempts: number }) => [
          row.eventType,
          row.attempts,
        ]),
        [
          ['a.b', 3],
          ['c.d', 1],
        ],
      );
      const future = await server.request(
        'GET',
        `/api/v1/app/${app.id}/stats?until=${new Date(Date.now() + 86_400_000).toISOString()}`,
      );
      assert.equal(future.status, 400);
      assert.equal(future.json.code, 'invalid_range');
    });
  });
}
