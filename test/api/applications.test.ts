import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiException } from 'svix';
import { backends } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

for (const backend of await backends()) {
  describe(`applications (${backend})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend);
    });
    after(() => server.close());

    it('creates, reads, lists, updates, patches and deletes through the svix SDK', async () => {
      const { svix } = server;
      const created = await svix.application.create({
        name: 'Acme',
        uid: 'acme',
        metadata: { tier: 'gold' },
      });
      assert.match(created.id, /^app_[A-Za-z0-9]{27}$/);
      assert.equal(created.uid, 'acme');
      assert.deepEqual(created.metadata, { tier: 'gold' });
      assert.ok(created.createdAt instanceof Date && !Number.isNaN(created.createdAt.getTime()));

      assert.equal((await svix.application.get('acme')).id, created.id, 'uid works as an alias');
      assert.equal((await svix.application.get(created.id)).name, 'Acme');

      const again = await svix.application.getOrCreate({ name: 'Ignored', uid: 'acme' });
      assert.equal(again.id, created.id, 'get_if_exists returns the existing application');
      assert.equal(again.name, 'Acme');

      const updated = await svix.application.upsert('acme', {
        name: 'Acme Inc',
        uid: 'acme',
        throttleRate: 10,
      });
      assert.equal(updated.name, 'Acme Inc');
      assert.equal(updated.throttleRate, 10);
      assert.deepEqual(updated.metadata, {}, 'PUT is a full replace');

      const patched = await svix.application.patch('acme', { metadata: { a: 'b' } });
      assert.equal(patched.name, 'Acme Inc', 'absent fields stay');
      assert.equal(patched.throttleRate, 10);
      assert.deepEqual(patched.metadata, { a: 'b' });
      const cleared = await svix.application.patch('acme', { throttleRate: null });
      assert.equal(cleared.throttleRate, null, 'null clears');

      const upserted = await svix.application.upsert('new-uid', {
        name: 'Upserted',
        uid: 'new-uid',
      });
      assert.equal(upserted.uid, 'new-uid');

      await svix.application.delete('acme');
      await assert.rejects(
        svix.application.get(created.id),
        (error: ApiException<unknown>) => error.code === 404,
      );
      const reused = await svix.application.create({ name: 'Reuse', uid: 'acme' });
      assert.notEqual(reused.id, created.id, 'a deleted application frees its uid');
    });

    it('paginates with iterators in both directions', async () => {
      const fresh = await startTestServer(backend);
      try {
        const ids: string[] = [];
        for (let i = 0; i < 7; i++)
          ids.push((await fresh.svix.application.create({ name: `app ${i}` })).id);
        const first = await fresh.svix.application.list({ limit: 3 });
        assert.deepEqual(
          first.data.map((a) => a.id),
          ids.slice(0, 3),
        );
        assert.equal(first.done, false);
        const second = await fresh.svix.application.list({ limit: 3, iterator: first.iterator });
        assert.deepEqual(
          second.data.map((a) => a.id),
          ids.slice(3, 6),
        );
        const third = await fresh.svix.application.list({ limit: 3, iterator: second.iterator });
        assert.deepEqual(
          third.data.map((a) => a.id),
          ids.slice(6),
        );
        assert.equal(third.done, true);
        const back = await fresh.svix.application.list({ limit: 3, iterator: third.prevIterator });
        assert.deepEqual(
          back.data.map((a) => a.id),
          ids.slice(3, 6),
        );
        const descending = await fresh.svix.application.list({
          limit: 2,
          order: 'descending' as never,
        });
        assert.deepEqual(
          descending.data.map((a) => a.id),
          [ids[6], ids[5]],
        );
      } finally {
        await fresh.close();
      }
    });

    it('answers bad input with a clear 4xx and writes nothing', async () => {
      const before = (await server.svix.application.list({ limit: 250 })).data.length;
      const cases: [string, Parameters<TestServer['request']>[2], number][] = [
        [
          'malformed JSON',
          { rawBody: '{"name":', headers: { 'content-type': 'application/json' } },
          400,
        ],
        ['wrong type', { body: { name: 42 } }, 422],
        ['missing name', { body: { uid: 'x' } }, 422],
        ['bad uid pattern', { body: { name: 'x', uid: 'has space' } }, 422],
        ['uid with id prefix', { body: { name: 'x', uid: 'app_123' } }, 422],
        ['zero throttle', { body: { name: 'x', throttleRate: 0 } }, 422],
        ['array body', { body: [1, 2] }, 422],
        ['not JSON', { rawBody: 'name=x', headers: { 'content-type': 'text/plain' } }, 415],
      ];
      for (const [label, options, status] of cases) {
        const response = await server.request('POST', '/api/v1/app', options);
        assert.equal(response.status, status, `${label}: ${response.text}`);
        assert.ok(response.json, `${label}: the error body is JSON`);
        if (status === 422) {
          assert.ok(Array.isArray(response.json.detail), label);
          assert.deepEqual(response.json.detail[0].loc.slice(0, 1), ['body'], label);
        } else {
          assert.equal(typeof response.json.code, 'string', label);
          assert.equal(typeof response.json.detail, 'string', label);
        }
      }
      const oversized = await server.request('POST', '/api/v1/app', {
        body: { name: 'x'.repeat(2 * 1024 * 1024) },
      });
      assert.equal(oversized.status, 413);
      assert.equal(oversized.json.code, 'payload_too_large');
      const limit = await server.request('GET', '/api/v1/app?limit=251');
      assert.equal(limit.status, 422);
      assert.deepEqual(limit.json.detail[0].loc, ['query', 'limit']);
      const unknown = await server.request('GET', '/api/v1/app/app_doesnotexist');
      assert.equal(unknown.status, 404);
      assert.deepEqual(Object.keys(unknown.json).sort(), ['code', 'detail']);
      const after = (await server.svix.application.list({ limit: 250 })).data.length;
      assert.equal(after, before, 'nothing was written');
    });

    it('refuses a duplicate uid with 409 and ignores unknown fields', async () => {
      await server.svix.application.create({ name: 'One', uid: 'dupe' });
      await assert.rejects(
        server.svix.application.create({ name: 'Two', uid: 'dupe' }),
        (error: ApiException<{ code: string }>) => {
          assert.equal(error.code, 409);
          assert.equal(error.body.code, 'conflict');
          return true;
        },
      );
      const response = await server.request('POST', '/api/v1/app', {
        body: { name: 'Extra', someFutureField: true },
      });
      assert.equal(response.status, 201);
    });

    it('requires a valid bearer token', async () => {
      for (const token of [null, 'wrong', '']) {
        const response = await server.request('GET', '/api/v1/app', { token });
        assert.equal(response.status, 401);
        assert.deepEqual(response.json, { code: 'authentication_failed', detail: 'Invalid token' });
      }
    });

    it('replays the first answer to a repeated idempotency-key', async () => {
      const headers = { 'idempotency-key': 'create-once' };
      const first = await server.request('POST', '/api/v1/app', {
        body: { name: 'Idem' },
        headers,
      });
      const second = await server.request('POST', '/api/v1/app', {
        body: { name: 'Idem' },
        headers,
      });
      assert.equal(first.status, 201);
      assert.equal(second.status, 201);
      assert.equal(second.text, first.text, 'byte-for-byte replay');
      assert.equal(second.headers.get('idempotent-replayed'), 'true');
      const other = await server.request('POST', '/api/v1/app', {
        body: { name: 'Idem' },
        headers: { 'idempotency-key': 'create-twice' },
      });
      assert.notEqual(other.json.id, first.json.id);
      // A failed request does not poison its key.
      const bad = await server.request('POST', '/api/v1/app', {
        body: {},
        headers: { 'idempotency-key': 'k3' },
      });
      assert.equal(bad.status, 422);
      const good = await server.request('POST', '/api/v1/app', {
        body: { name: 'ok' },
        headers: { 'idempotency-key': 'k3' },
      });
      assert.equal(good.status, 201);
    });
  });
}
