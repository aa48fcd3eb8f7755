/**
 * Message routing follows every change at once. On SQLite the application and its endpoints'
 * filters are remembered between messages (src/store/routing-cache.ts); these tests change
 * them every way the API and the engine can and check, through the message's attempted
 * destinations, that the very next message is routed by the new state.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../helpers/backends.js';
import { startHook } from '../helpers/hook.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const URL_A = 'http://127.0.0.1:9/a';
const URL_B = 'http://127.0.0.1:9/b';

for (const backend of await backends()) {
  describe(`message routing (${backend})`, () => {
    let server: TestServer;
    before(async () => {
      // API only: messages are routed and queued, nothing is sent.
      server = await startTestServer(backend, { SWITCHBOARD_ROLE: 'api' });
      for (const name of ['order.created', 'order.paid']) {
        await server.svix.eventType.create({ name, description: name });
      }
    });
    after(() => server.close());

    /** Creates a message and returns the ids of the endpoints it was queued for, sorted. */
    async function routed(app: string, eventType: string, channels?: string[]): Promise<string[]> {
      const message = await server.svix.message.create(app, { eventType, payload: {}, channels });
      const listed = await server.request('GET', `/api/v1/app/${app}/msg/${message.id}/endpoint`);
      assert.equal(listed.status, 200, listed.text);
      return (listed.json.data as { id: string }[]).map((endpoint) => endpoint.id).sort();
    }

    it('routes the next message by every change to endpoints and applications', async () => {
      const { svix } = server;
      const app = await svix.application.create({ name: 'Routing', uid: `routing-${backend}` });
      const a = await svix.endpoint.create(app.id, { url: URL_A, eventTypes: ['order.created'] });
      assert.deepEqual(await routed(app.id, 'order.created'), [a.id]);
      assert.deepEqual(await routed(app.id, 'order.paid'), []);

      const b = await svix.endpoint.create(app.id, { url: URL_B });
      assert.deepEqual(await routed(app.id, 'order.paid'), [b.id], 'a new endpoint');

      await svix.endpoint.upsert(app.id, a.id, { url: URL_A, eventTypes: ['order.paid'] });
      assert.deepEqual(await routed(app.id, 'order.paid'), [a.id, b.id].sort(), 'a new filter');

      await svix.endpoint.patch(app.id, a.id, { disabled: true });
      assert.deepEqual(await routed(app.id, 'order.paid'), [b.id], 'disabled');
      await svix.endpoint.patch(app.id, a.id, { disabled: false });
      assert.deepEqual(await routed(app.id, 'order.paid'), [a.id, b.id].sort(), 're-enabled');

      await svix.endpoint.patch(app.id, b.id, { channels: ['eu'] });
      assert.deepEqual(await routed(app.id, 'order.paid'), [a.id], 'b now wants a channel');
      assert.deepEqual(await routed(app.id, 'order.paid', ['eu']), [a.id, b.id].sort());

      await svix.endpoint.delete(app.id, b.id);
      assert.deepEqual(await routed(app.id, 'order.paid', ['eu']), [a.id], 'deleted');

      // By uid, then renamed: the old uid is gone at once, the new one works.
      assert.deepEqual(await routed(`routing-${backend}`, 'order.paid'), [a.id]);
      await svix.application.patch(app.id, { uid: `renamed-${backend}` });
      const byOldUid = await server.request('POST', `/api/v1/app/routing-${backend}/msg`, {
        body: { eventType: 'order.paid', payload: {} },
      });
      assert.equal(byOldUid.status, 404, byOldUid.text);
      assert.deepEqual(await routed(`renamed-${backend}`, 'order.paid'), [a.id]);

      await svix.application.delete(app.id);
      const deleted = await server.request('POST', `/api/v1/app/${app.id}/msg`, {
        body: { eventType: 'order.paid', payload: {} },
      });
      assert.equal(deleted.status, 404, deleted.text);
    });

    it('creates a missing application with its first message, and routes the next one to it', async () => {
      const uid = `implicit-${backend}`;
      const first = await server.request('POST', `/api/v1/app/${uid}/msg`, {
        body: { eventType: 'order.paid', payload: {}, application: { name: 'Implicit', uid } },
      });
      assert.equal(first.status, 202, first.text);
      const endpoint = await server.svix.endpoint.create(uid, { url: URL_A });
      assert.deepEqual(await routed(uid, 'order.paid'), [endpoint.id]);
    });
  });

  describe(`message routing after the engine disables an endpoint (${backend})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend);
    });
    after(() => server.close());

    it('queues nothing more for an endpoint that answered 410', async (t) => {
      const gone = await startHook(() => ({ status: 410 }));
      t.after(() => gone.close());
      const { svix } = server;
      const app = await svix.application.create({ name: 'Gone' });
      const endpoint = await svix.endpoint.create(app.id, { url: `${gone.url}/hook` });
      await svix.message.create(app.id, { eventType: 'order.paid', payload: {} });
      await waitFor(
        'the endpoint disabled',
        async () => (await svix.endpoint.get(app.id, endpoint.id)).disabled,
      );
      const second = await svix.message.create(app.id, { eventType: 'order.paid', payload: {} });
      const listed = await server.request('GET', `/api/v1/app/${app.id}/msg/${second.id}/endpoint`);
      assert.deepEqual(listed.json.data, [], 'no delivery queued for the disabled endpoint');
    });
  });
}
