// The batch create (`POST /api/v1/app/{app}/msg/batch`, beyond Svix): all messages or none,
// each routed and delivered as if created alone, errors that name the message. Both backends;
// deliveries go to a real local receiver and their signatures are checked with the
// independent `standardwebhooks` package.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { backends } from '../helpers/backends.js';
import { appScopedToken } from '../helpers/fixtures.js';
import { type Hook, startHook } from '../helpers/hook.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

async function messageCount(server: TestServer): Promise<number> {
  const row = await server.sb.ctx.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM messages');
  return Number(row?.n ?? 0);
}

async function deliveryCount(server: TestServer): Promise<number> {
  const row = await server.sb.ctx.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM deliveries');
  return Number(row?.n ?? 0);
}

for (const backend of await backends()) {
  describe(`message batch create (${backend})`, () => {
    let server: TestServer;
    let hook: Hook;
    before(async () => {
      server = await startTestServer(backend);
      hook = await startHook();
      for (const name of ['invoice.paid', 'user.created']) {
        await server.svix.eventType.create({ name, description: name });
      }
    });
    after(async () => {
      await server.close();
      await hook.close();
    });

    it('stores every message, answers them in order, and delivers each to its matching endpoints, signed', async () => {
      const app = await server.svix.application.create({ name: 'Batch' });
      const all = await server.svix.endpoint.create(app.id, { url: `${hook.url}/all` });
      const invoices = await server.svix.endpoint.create(app.id, {
        url: `${hook.url}/invoices`,
        eventTypes: ['invoice.paid'],
      });
      const messages = [
        { eventType: 'invoice.paid', payload: { n: 0 }, eventId: 'batch-evt-0' },
        { eventType: 'user.created', payload: { n: 1 }, tags: ['t1'] },
        { eventType: 'invoice.paid', payload: { n: 2, text: 'héllo ✓' } },
      ];
      const answer = await server.request('POST', `/api/v1/app/${app.id}/msg/batch`, {
        body: { messages },
      });
      assert.equal(answer.status, 202, answer.text);
      const data = answer.json.data as { id: string; eventType: string; payload: unknown }[];
      assert.equal(data.length, 3);
      assert.deepEqual(
        data.map((m) => m.payload),
        messages.map((m) => m.payload),
      );
      assert.equal(answer.json.data[0].eventId, 'batch-evt-0');
      assert.deepEqual(answer.json.data[1].tags, ['t1']);
      assert.equal(new Set(data.map((m) => m.id)).size, 3);

      // Stored, each readable through the Svix API as if created alone.
      for (const [index, created] of data.entries()) {
        const read = await server.svix.message.get(app.id, created.id, { withContent: true });
        assert.deepEqual(read.payload, messages[index].payload);
        assert.equal(read.eventType, messages[index].eventType);
      }

      // Three to the unfiltered endpoint, the two invoices to the filtered one.
      await waitFor(
        'five deliveries',
        () => hook.hitsAt('/all').length === 3 && hook.hitsAt('/invoices').length === 2,
      );
      const secrets = {
        '/all': (await server.svix.endpoint.getSecret(app.id, all.id)).key,
        '/invoices': (await server.svix.endpoint.getSecret(app.id, invoices.id)).key,
      };
      for (const path of ['/all', '/invoices'] as const) {
        const verifier = new Webhook(secrets[path]);
        for (const hit of hook.hitsAt(path)) {
          const payload = verifier.verify(hit.body.toString('utf8'), hit.headers) as { n: number };
          assert.equal(hit.headers['webhook-id'], data[payload.n].id);
        }
      }
      assert.deepEqual(
        hook
          .hitsAt('/invoices')
          .map((hit) => JSON.parse(hit.body.toString('utf8')).n)
          .sort(),
        [0, 2],
      );
      // Attempts are written after the receiver answers (in the engine's batched writes), so
      // the receiver can have both requests before their attempts are stored.
      await waitFor('two attempts recorded for the filtered endpoint', async () => {
        const attempts = await server.svix.messageAttempt.listByEndpoint(app.id, invoices.id);
        return attempts.data.length === 2;
      });
    });

    it('delivers every message of a batch bigger than the engine has free slots, each once', async () => {
      // 120 messages x 4 endpoints = 480 deliveries against 256 slots: the first ones are
      // handed to the engine as they are written, the rest wait in the table for its claims.
      const app = await server.svix.application.create({ name: 'Big batch' });
      for (let i = 0; i < 4; i++) {
        await server.svix.endpoint.create(app.id, { url: `${hook.url}/big${i}` });
      }
      const answer = await server.request('POST', `/api/v1/app/${app.id}/msg/batch`, {
        body: {
          messages: Array.from({ length: 120 }, (_, n) => ({
            eventType: 'user.created',
            payload: { n },
          })),
        },
      });
      assert.equal(answer.status, 202, answer.text);
      const ids = new Set((answer.json.data as { id: string }[]).map((m) => m.id));
      const bigHits = () => hook.hits.filter((hit) => hit.path.startsWith('/big'));
      await waitFor('480 deliveries', () => bigHits().length >= 480);
      await sleep(300); // time for a duplicate to show up, were there one
      const seen = new Set(bigHits().map((hit) => `${hit.path} ${hit.headers['webhook-id']}`));
      assert.equal(seen.size, 480, 'every (endpoint, message)');
      assert.equal(bigHits().length, 480, 'each once');
      for (const hit of bigHits()) assert.ok(ids.has(hit.headers['webhook-id']));
    });

    it('refuses a batch with one bad message, naming it, and stores none of it', async () => {
      const app = await server.svix.application.create({ name: 'Bad batch' });
      await server.svix.endpoint.create(app.id, { url: `${hook.url}/bad` });
      const before = [await messageCount(server), await deliveryCount(server)];
      const path = `/api/v1/app/${app.id}/msg/batch`;
      const good = { eventType: 'invoice.paid', payload: { ok: true } };

      const notObject = await server.request('POST', path, {
        body: { messages: [good, good, { eventType: 'invoice.paid', payload: [1, 2] }] },
      });
      assert.equal(notObject.status, 422, notObject.text);
      assert.deepEqual(notObject.json.detail[0].loc, ['body', 'messages', 2, 'payload']);

      const noType = await server.request('POST', path, {
        body: { messages: [good, { payload: {} }] },
      });
      assert.equal(noType.status, 422, noType.text);
      assert.match(
        JSON.stringify(noType.json.detail),
        /messages.*1.*eventType|eventType.*messages.*1/,
      );

      const sameEventId = await server.request('POST', path, {
        body: {
          messages: [
            { ...good, eventId: 'dup' },
            { ...good, eventId: 'other' },
            { ...good, eventId: 'dup' },
          ],
        },
      });
      assert.equal(sameEventId.status, 422, sameEventId.text);
      assert.deepEqual(sameEventId.json.detail[0].loc, ['body', 'messages', 2, 'eventId']);
      assert.match(sameEventId.json.detail[0].msg, /messages\[0\]/);

      const empty = await server.request('POST', path, { body: { messages: [] } });
      assert.equal(empty.status, 422, empty.text);
      const tooMany = await server.request('POST', path, {
        body: { messages: Array.from({ length: 501 }, () => good) },
      });
      assert.equal(tooMany.status, 422, tooMany.text);
      const notAList = await server.request('POST', path, { body: good });
      assert.equal(notAList.status, 422, notAList.text);

      assert.deepEqual([await messageCount(server), await deliveryCount(server)], before);
      assert.equal(hook.hitsAt('/bad').length, 0);
    });

    it('answers 409 naming the message whose eventId the application already has, and stores none', async () => {
      const app = await server.svix.application.create({ name: 'Conflict batch' });
      await server.svix.message.create(app.id, {
        eventType: 'invoice.paid',
        payload: {},
        eventId: 'taken',
      });
      const before = await messageCount(server);
      const answer = await server.request('POST', `/api/v1/app/${app.id}/msg/batch`, {
        body: {
          messages: [
            { eventType: 'invoice.paid', payload: {}, eventId: 'fresh' },
            { eventType: 'invoice.paid', payload: {}, eventId: 'taken' },
          ],
        },
      });
      assert.equal(answer.status, 409, answer.text);
      assert.equal(answer.json.code, 'conflict');
      assert.match(answer.json.detail, /body\.messages\.1.*"taken"/);
      assert.equal(await messageCount(server), before);
      // The same eventId in another application is no conflict.
      const other = await server.svix.application.create({ name: 'Other' });
      const elsewhere = await server.request('POST', `/api/v1/app/${other.id}/msg/batch`, {
        body: { messages: [{ eventType: 'invoice.paid', payload: {}, eventId: 'taken' }] },
      });
      assert.equal(elsewhere.status, 202, elsewhere.text);
    });

    it('404 for an unknown application, unless a message brings `application` to create it', async () => {
      const missing = await server.request('POST', '/api/v1/app/app_nope/msg/batch', {
        body: { messages: [{ eventType: 'invoice.paid', payload: {} }] },
      });
      assert.equal(missing.status, 404, missing.text);

      const mismatch = await server.request('POST', '/api/v1/app/batch-uid/msg/batch', {
        body: {
          messages: [
            { eventType: 'invoice.paid', payload: {} },
            { eventType: 'invoice.paid', payload: {}, application: { name: 'X', uid: 'other' } },
          ],
        },
      });
      assert.equal(mismatch.status, 422, mismatch.text);
      assert.deepEqual(mismatch.json.detail[0].loc, ['body', 'messages', 1, 'application', 'uid']);

      const created = await server.request('POST', '/api/v1/app/batch-uid/msg/batch', {
        body: {
          messages: [
            { eventType: 'invoice.paid', payload: { a: 1 } },
            {
              eventType: 'invoice.paid',
              payload: { a: 2 },
              application: { name: 'Implicit', uid: 'batch-uid' },
            },
          ],
        },
      });
      assert.equal(created.status, 202, created.text);
      const app = await server.svix.application.get('batch-uid');
      assert.equal(app.name, 'Implicit');
      const list = await server.svix.message.list(app.id);
      assert.equal(list.data.length, 2);
    });

    it('keeps tenants apart, honours with_content and idempotency-key', async () => {
      const app = await server.svix.application.create({ name: 'Scoped' });
      const token = await appScopedToken(server, app.id);
      const scoped = await server.request('POST', `/api/v1/app/${app.id}/msg/batch`, {
        token,
        body: { messages: [{ eventType: 'invoice.paid', payload: {} }] },
      });
      assert.equal(scoped.status, 403, 'an application-scoped key cannot create messages');

      const path = `/api/v1/app/${app.id}/msg/batch?with_content=false`;
      const body = { messages: [{ eventType: 'invoice.paid', payload: { secret: 1 } }] };
      const headers = { 'idempotency-key': 'batch-key-1' };
      const first = await server.request('POST', path, { body, headers });
      assert.equal(first.status, 202, first.text);
      assert.deepEqual(first.json.data[0].payload, {});
      const count = await messageCount(server);
      const again = await server.request('POST', path, { body, headers });
      assert.equal(again.status, 202);
      assert.equal(again.json.data[0].id, first.json.data[0].id);
      assert.equal(await messageCount(server), count, 'the repeat stored nothing');
    });

    it('is in the OpenAPI document', async () => {
      const doc = await server.request('GET', '/api/v1/openapi.json');
      const operation = doc.json.paths['/api/v1/app/{app_id}/msg/batch']?.post;
      assert.ok(operation, 'the batch path is documented');
      assert.ok(operation.responses['202']);
    });
  });
}
