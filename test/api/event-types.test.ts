import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ApiException, Svix } from 'svix';
import { type AppId, newId } from '../../src/core/ids.js';
import { generateToken } from '../../src/platform/auth.js';
import { insertApiKey } from '../../src/store/api-keys.js';
import { backends } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const status = (code: number) => (error: ApiException<unknown>) => error.code === code;

/** A key scoped to one application, inserted directly (the keys API is not part of this suite). */
async function appScopedSvix(
  server: TestServer,
  appId: string,
): Promise<{ svix: Svix; token: string }> {
  const { token, prefix, hash } = generateToken();
  await insertApiKey(server.sb.ctx.db, {
    id: newId('apiKey'),
    name: 'app key',
    prefix,
    hash,
    appId: appId as AppId,
    scopes: null,
    createdAt: Date.now(),
    lastUsedAt: null,
    expiresAt: null,
    revokedAt: null,
  });
  return { svix: new Svix(token, { serverUrl: server.url }), token };
}

for (const backend of await backends()) {
  describe(`event types (${backend})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend);
    });
    after(() => server.close());

    it('creates, reads, lists, upserts, patches, archives and expunges through the svix SDK', async () => {
      const { svix } = server;
      const schemas = {
        '1': {
          type: 'object',
          properties: { id: { type: 'string' } },
          required: ['id'],
          examples: [{ id: 'u_1' }],
        },
      };
      const created = await svix.eventType.create({
        name: 'user.signup',
        description: 'A user signed up',
        schemas,
        featureFlags: ['beta'],
        groupName: 'user',
      });
      assert.equal(created.name, 'user.signup');
      assert.equal(created.description, 'A user signed up');
      assert.equal(created.archived, false);
      assert.equal(created.deprecated, false);
      assert.deepEqual(created.schemas, schemas);
      assert.deepEqual(created.featureFlags, ['beta']);
      assert.equal(created.featureFlag, 'beta', 'the OSS singular field is emitted too');
      assert.equal(created.groupName, 'user');
      assert.ok(created.createdAt instanceof Date && !Number.isNaN(created.createdAt.getTime()));

      const got = await svix.eventType.get('user.signup');
      assert.deepEqual(got.schemas, schemas, 'GET returns the full schemas');

      const listed = await svix.eventType.list();
      assert.deepEqual(
        listed.data.map((e) => e.name),
        ['user.signup'],
      );
      assert.equal(listed.data[0].schemas, null, 'the SDK sends with_content=false: no schemas');
      const withContent = await svix.eventType.list({ withContent: true });
      assert.deepEqual(withContent.data[0].schemas, schemas);

      // PUT: 200 on an existing one (a full replace), 201 for a new name.
      const replaced = await server.request('PUT', '/api/v1/event-type/user.signup', {
        body: { description: 'Replaced' },
      });
      assert.equal(replaced.status, 200);
      assert.equal(replaced.json.description, 'Replaced');
      assert.equal(replaced.json.schemas, null, 'PUT replaces: omitted schemas become null');
      assert.equal(replaced.json.featureFlags, null);
      assert.equal(replaced.json.groupName, null);
      assert.equal(replaced.json.createdAt, got.createdAt.toISOString(), 'createdAt stays');
      const upserted = await svix.eventType.upsert('order.paid', {
        description: 'Paid',
        deprecated: true,
      });
      assert.equal(upserted.name, 'order.paid');
      assert.equal(upserted.deprecated, true);
      const createdByPut = await server.request('PUT', '/api/v1/event-type/order.refunded', {
        body: { description: 'Refunded' },
      });
      assert.equal(createdByPut.status, 201);

      // PATCH: absent = unchanged, null = cleared.
      await svix.eventType.patch('order.paid', { schemas, groupName: 'orders' });
      const patched = await svix.eventType.patch('order.paid', { schemas: null });
      assert.equal(patched.schemas, null, 'null clears');
      assert.equal(patched.groupName, 'orders', 'absent stays');
      assert.equal(patched.description, 'Paid');
      assert.equal(patched.deprecated, true);
      const nullDescription = await server.request('PATCH', '/api/v1/event-type/order.paid', {
        body: { description: null },
      });
      assert.equal(nullDescription.status, 422, 'description is not nullable');
      assert.deepEqual(nullDescription.json.detail[0].loc, ['body', 'description']);

      // A live name is a 409.
      await assert.rejects(
        svix.eventType.create({ name: 'order.paid', description: 'again' }),
        (error: ApiException<{ code: string; detail: string }>) => {
          assert.equal(error.code, 409);
          assert.equal(error.body.code, 'event_type_exists');
          assert.equal(error.body.detail, 'An event_type with this name already exists');
          return true;
        },
      );

      // DELETE archives: hidden from the list unless include_archived, still readable.
      await svix.eventType.delete('order.paid');
      const archived = await svix.eventType.get('order.paid');
      assert.equal(archived.archived, true);
      assert.ok(!(await svix.eventType.list()).data.some((e) => e.name === 'order.paid'));
      const all = await svix.eventType.list({ includeArchived: true });
      assert.ok(all.data.some((e) => e.name === 'order.paid' && e.archived));

      // Creating an archived name unarchives it and overwrites it with the body: 201.
      const revived = await server.request('POST', '/api/v1/event-type', {
        body: { name: 'order.paid', description: 'Revived' },
      });
      assert.equal(revived.status, 201);
      assert.equal(revived.json.archived, false);
      assert.equal(revived.json.description, 'Revived');
      assert.equal(revived.json.deprecated, false, 'not preserved');
      assert.equal(revived.json.groupName, null, 'not preserved');
      assert.equal(revived.json.createdAt, archived.createdAt.toISOString());

      // expunge=true deletes for good; the name is free again.
      await svix.eventType.delete('order.refunded', { expunge: true });
      await assert.rejects(svix.eventType.get('order.refunded'), status(404));
      await assert.rejects(svix.eventType.delete('order.refunded', { expunge: true }), status(404));
      const again = await svix.eventType.create({ name: 'order.refunded', description: 'New' });
      assert.equal(again.description, 'New');

      // Unknown names: 404.
      await assert.rejects(svix.eventType.get('no.such'), status(404));
      await assert.rejects(svix.eventType.patch('no.such', { description: 'x' }), status(404));
      await assert.rejects(svix.eventType.delete('no.such'), status(404));
    });

    it('accepts the OSS featureFlag spelling and ignores unknown fields', async () => {
      const response = await server.request('POST', '/api/v1/event-type', {
        body: { name: 'flagged.oss', description: 'x', featureFlag: 'beta', futureField: 1 },
      });
      assert.equal(response.status, 201, response.text);
      assert.deepEqual(response.json.featureFlags, ['beta']);
      assert.equal(response.json.featureFlag, 'beta');
      const cleared = await server.request('PATCH', '/api/v1/event-type/flagged.oss', {
        body: { featureFlag: null },
      });
      assert.equal(cleared.status, 200);
      assert.equal(cleared.json.featureFlags, null);
      assert.equal(cleared.json.featureFlag, null);
    });

    it('lists ascending by name and paginates with name iterators in both directions', async () => {
      const fresh = await startTestServer(backend);
      try {
        // Byte order: upper case before `.`-less lower case, `.` before `_`.
        const names = ['b.two', 'a_b', 'a.b', 'Z.first', 'c', 'a.c', 'b.one'];
        for (const name of names) await fresh.svix.eventType.create({ name, description: name });
        await fresh.svix.eventType.create({ name: 'archived.one', description: 'gone' });
        await fresh.svix.eventType.delete('archived.one');
        const sorted = [...names].sort();
        const first = await fresh.svix.eventType.list({ limit: 3 });
        assert.deepEqual(
          first.data.map((e) => e.name),
          sorted.slice(0, 3),
        );
        assert.equal(first.done, false);
        assert.equal(first.iterator, sorted[2]);
        const second = await fresh.svix.eventType.list({ limit: 3, iterator: first.iterator });
        assert.deepEqual(
          second.data.map((e) => e.name),
          sorted.slice(3, 6),
        );
        const third = await fresh.svix.eventType.list({ limit: 3, iterator: second.iterator });
        assert.deepEqual(
          third.data.map((e) => e.name),
          sorted.slice(6),
        );
        assert.equal(third.done, true);
        const back = await fresh.svix.eventType.list({ limit: 3, iterator: third.prevIterator });
        assert.deepEqual(
          back.data.map((e) => e.name),
          sorted.slice(3, 6),
        );
        assert.equal(back.done, false);
        const backAgain = await fresh.svix.eventType.list({
          limit: 3,
          iterator: back.prevIterator,
        });
        assert.deepEqual(
          backAgain.data.map((e) => e.name),
          sorted.slice(0, 3),
        );
        assert.equal(backAgain.done, true);
        const withArchived = await fresh.svix.eventType.list({ includeArchived: true });
        assert.deepEqual(
          withArchived.data.map((e) => e.name),
          [...names, 'archived.one'].sort(),
        );
        const empty = await fresh.svix.eventType.list({ iterator: sorted[6] });
        assert.deepEqual(empty.data, []);
        assert.equal(empty.iterator, null);
        assert.equal(empty.done, true);
      } finally {
        await fresh.close();
      }
    });

    it('answers bad input with 422 at the field and writes nothing', async () => {
      const count = async () =>
        (await server.svix.eventType.list({ includeArchived: true, limit: 250 })).data.length;
      const before = await count();
      const cases: [string, unknown, (string | number)[]][] = [
        ['missing description', { name: 'x.y' }, ['body', 'description']],
        ['missing name', { description: 'x' }, ['body', 'name']],
        ['bad name', { name: 'has space', description: 'x' }, ['body', 'name']],
        ['long name', { name: 'a'.repeat(257), description: 'x' }, ['body', 'name']],
        ['wrong type', { name: 'x.y', description: 42 }, ['body', 'description']],
        ['control char', { name: 'x.y', description: 'a\u0001b' }, ['body', 'description']],
        [
          'empty flags',
          { name: 'x.y', description: 'x', featureFlags: [] },
          ['body', 'featureFlags'],
        ],
        [
          'invalid JSON schema',
          { name: 'x.y', description: 'x', schemas: { '1': { type: 'bogus' } } },
          ['body', 'schemas', '1'],
        ],
        [
          'schema not an object',
          { name: 'x.y', description: 'x', schemas: { '1': 5 } },
          ['body', 'schemas', '1'],
        ],
        [
          'archived not a bool',
          { name: 'x.y', description: 'x', archived: 'yes' },
          ['body', 'archived'],
        ],
      ];
      for (const [label, body, loc] of cases) {
        const response = await server.request('POST', '/api/v1/event-type', { body });
        assert.equal(response.status, 422, `${label}: ${response.text}`);
        assert.deepEqual(response.json.detail[0].loc, loc, label);
        assert.equal(typeof response.json.detail[0].msg, 'string', label);
      }
      const badPath = await server.request('PUT', '/api/v1/event-type/bad%20name', {
        body: { description: 'x' },
      });
      assert.equal(badPath.status, 422);
      assert.deepEqual(badPath.json.detail[0].loc, ['path', 'event_type_name']);
      const badPatch = await server.request('PATCH', '/api/v1/event-type/x.y', {
        body: { schemas: { '1': { type: 'bogus' } } },
      });
      assert.equal(badPatch.status, 422, 'the body is checked before the name is looked up');
      assert.deepEqual(badPatch.json.detail[0].loc, ['body', 'schemas', '1']);
      const limit = await server.request('GET', '/api/v1/event-type?limit=251');
      assert.equal(limit.status, 422);
      assert.deepEqual(limit.json.detail[0].loc, ['query', 'limit']);
      assert.equal(await count(), before, 'nothing was written');
    });

    it('lets any key read but only the organisation write; app keys see unflagged types only', async () => {
      await server.svix.eventType.create({ name: 'visible.to.all', description: 'x' });
      await server.svix.eventType.create({
        name: 'flagged.beta',
        description: 'x',
        featureFlags: ['beta'],
      });
      const app = await server.svix.application.create({ name: 'Tenant' });
      const { svix: appSvix, token } = await appScopedSvix(server, app.id);

      const seen = (await appSvix.eventType.list({ limit: 250 })).data.map((e) => e.name);
      assert.ok(seen.includes('visible.to.all'));
      assert.ok(!seen.includes('flagged.beta'), 'flagged event types are hidden from app keys');
      assert.equal((await appSvix.eventType.get('visible.to.all')).name, 'visible.to.all');
      await assert.rejects(appSvix.eventType.get('flagged.beta'), status(404));
      assert.equal((await server.svix.eventType.get('flagged.beta')).name, 'flagged.beta');

      for (const [method, path, body] of [
        ['POST', '/api/v1/event-type', { name: 'app.made', description: 'x' }],
        ['PUT', '/api/v1/event-type/visible.to.all', { description: 'x' }],
        ['PATCH', '/api/v1/event-type/visible.to.all', { description: 'x' }],
        ['DELETE', '/api/v1/event-type/visible.to.all', undefined],
      ] as const) {
        const response = await server.request(method, path, { body, token });
        assert.equal(response.status, 403, `${method} ${path}`);
        assert.deepEqual(response.json, {
          code: 'insufficient access',
          detail: 'Insufficient access for the given operation.',
        });
      }
      await assert.rejects(
        appSvix.eventType.create({ name: 'app.made', description: 'x' }),
        status(403),
      );
      await assert.rejects(server.svix.eventType.get('app.made'), status(404));
      assert.equal((await server.svix.eventType.get('visible.to.all')).archived, false);
    });
  });
}
