import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ApiException, Ordering } from 'svix';
import { backends } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const TOKEN_URL = /\/in\/[A-Za-z0-9_-]{43}$/;

for (const backend of await backends()) {
  describe(`ingest sources (${backend})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend, {
        SWITCHBOARD_PUBLIC_URL: 'https://hooks.example.com/',
      });
    });
    after(() => server.close());

    it('creates, reads, lists, upserts, rotates and deletes through the svix SDK', async () => {
      const { svix } = server;
      const created = await svix.ingest.source.create({
        name: 'GitHub org',
        uid: 'gh-main',
        type: 'github',
        config: { secret: 'It is a secret to everybody' },
        metadata: { team: 'platform' },
      });
      assert.match(created.id, /^src_[A-Za-z0-9]{27}$/);
      assert.equal(created.type, 'github');
      assert.equal(created.uid, 'gh-main');
      assert.deepEqual(created.config, {}, 'the secret is omitted, not masked');
      assert.deepEqual(created.metadata, { team: 'platform' });
      assert.ok(created.createdAt instanceof Date && !Number.isNaN(created.createdAt.getTime()));
      assert.ok(created.updatedAt instanceof Date && !Number.isNaN(created.updatedAt.getTime()));
      assert.ok(created.ingestUrl?.startsWith('https://hooks.example.com/in/'));
      assert.match(created.ingestUrl ?? '', TOKEN_URL);

      const raw = await server.request('GET', `/ingest/api/v1/source/${created.id}`);
      assert.equal(raw.status, 200);
      assert.deepEqual(raw.json.config, {});
      assert.ok(!raw.text.includes('secret to everybody'), 'no secret in any response');

      const byUid = await svix.ingest.source.get('gh-main');
      assert.equal(byUid.id, created.id, 'uid works as an alias');
      assert.equal(byUid.ingestUrl, created.ingestUrl, 'get shows the same ingest URL');
      assert.equal((await svix.ingest.source.get(created.id)).name, 'GitHub org');

      const stripe = await svix.ingest.source.create({
        name: 'Stripe',
        type: 'stripe',
        config: { secret: 'whsec_abcdefabcdef' },
      });
      assert.deepEqual(stripe.config, {});
      assert.equal(stripe.uid, null);
      const generic = await svix.ingest.source.create({
        name: 'Anything',
        type: 'generic-webhook',
      });
      assert.equal(generic.type, 'generic-webhook');

      const listed = await svix.ingest.source.list();
      assert.deepEqual(
        listed.data.map((s) => s.id),
        [generic.id, stripe.id, created.id],
        'newest first',
      );
      assert.equal(listed.done, true);

      const updated = await svix.ingest.source.upsert('gh-main', {
        name: 'GitHub renamed',
        uid: 'gh-main',
        type: 'github',
        config: { secret: 'another secret' },
      });
      assert.equal(updated.id, created.id);
      assert.equal(updated.name, 'GitHub renamed');
      assert.deepEqual(updated.metadata, {}, 'PUT is a full replace');
      assert.equal(updated.ingestUrl, created.ingestUrl, 'PUT keeps the token');

      const upserted = await server.request('PUT', '/ingest/api/v1/source/fresh-uid', {
        body: { name: 'Fresh', uid: 'fresh-uid', type: 'svix', config: { secret: 'whsec_MfKQ' } },
      });
      assert.equal(upserted.status, 201, 'PUT on nothing creates');
      assert.deepEqual(upserted.json.config, {});

      const rotated = await svix.ingest.source.rotateToken(created.id);
      assert.match(rotated.ingestUrl, TOKEN_URL);
      assert.notEqual(rotated.ingestUrl, created.ingestUrl);
      assert.equal((await svix.ingest.source.get(created.id)).ingestUrl, rotated.ingestUrl);

      await svix.ingest.source.delete('gh-main');
      await assert.rejects(
        svix.ingest.source.get(created.id),
        (error: ApiException<unknown>) => error.code === 404,
      );
      const reused = await svix.ingest.source.create({
        name: 'Reuse',
        uid: 'gh-main',
        type: 'github',
        config: {},
      });
      assert.notEqual(reused.id, created.id, 'a deleted source frees its uid');
    });

    it('paginates with iterators', async () => {
      const fresh = await startTestServer(backend);
      try {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          ids.push(
            (
              await fresh.svix.ingest.source.create({
                name: `src ${i}`,
                type: 'github',
                config: {},
              })
            ).id,
          );
        }
        const newestFirst = [...ids].reverse();
        const first = await fresh.svix.ingest.source.list({ limit: 2 });
        assert.deepEqual(
          first.data.map((s) => s.id),
          newestFirst.slice(0, 2),
        );
        assert.equal(first.done, false);
        const second = await fresh.svix.ingest.source.list({
          limit: 2,
          iterator: first.iterator,
        });
        assert.deepEqual(
          second.data.map((s) => s.id),
          newestFirst.slice(2, 4),
        );
        const third = await fresh.svix.ingest.source.list({
          limit: 2,
          iterator: second.iterator,
        });
        assert.deepEqual(
          third.data.map((s) => s.id),
          newestFirst.slice(4),
        );
        assert.equal(third.done, true);
        const ascending = await fresh.svix.ingest.source.list({
          limit: 10,
          order: Ordering.Ascending,
        });
        assert.deepEqual(
          ascending.data.map((s) => s.id),
          ids,
        );
      } finally {
        await fresh.close();
      }
    });

    it('validates type and config with the provider schema (422 with locations)', async () => {
      const unknownType = await server.request('POST', '/ingest/api/v1/source', {
        body: { name: 'x1', type: 'no-such-provider', config: {} },
      });
      assert.equal(unknownType.status, 422);
      assert.deepEqual(unknownType.json.detail[0].loc, ['body', 'type']);

      const missingSecret = await server.request('POST', '/ingest/api/v1/source', {
        body: { name: 'x2', type: 'stripe', config: {} },
      });
      assert.equal(missingSecret.status, 422);
      assert.deepEqual(missingSecret.json.detail[0].loc, ['body', 'config', 'secret']);

      const wrongType = await server.request('POST', '/ingest/api/v1/source', {
        body: { name: 'x3', type: 'stripe', config: { secret: 42 } },
      });
      assert.equal(wrongType.status, 422);
      assert.deepEqual(wrongType.json.detail[0].loc, ['body', 'config', 'secret']);

      const badSetting = await server.request('POST', '/ingest/api/v1/source', {
        body: { name: 'x4', type: 'github', config: { maxBodyBytes: -1 } },
      });
      assert.equal(badSetting.status, 422);
      assert.deepEqual(badSetting.json.detail[0].loc, ['body', 'config', 'maxBodyBytes']);

      const srcUid = await server.request('POST', '/ingest/api/v1/source', {
        body: { name: 'x5', type: 'github', uid: 'src_nope', config: {} },
      });
      assert.equal(srcUid.status, 422);
      assert.deepEqual(srcUid.json.detail[0].loc, ['body', 'uid']);

      const shortName = await server.request('POST', '/ingest/api/v1/source', {
        body: { name: 'x', type: 'github', config: {} },
      });
      assert.equal(shortName.status, 422);

      await server.svix.ingest.source.create({
        name: 'dup',
        uid: 'dup',
        type: 'github',
        config: {},
      });
      const duplicate = await server.request('POST', '/ingest/api/v1/source', {
        body: { name: 'dup', uid: 'dup', type: 'github', config: {} },
      });
      assert.equal(duplicate.status, 409);
      assert.equal(duplicate.json.code, 'conflict');
    });

    it('keeps config secrets sealed at rest and echoes the settings only', async () => {
      const created = await server.request('POST', '/ingest/api/v1/source', {
        body: {
          name: 'gumroad shop',
          type: 'gumroad',
          config: { secret: 'query-secret-value', maxBodyBytes: 2048, dedupWindowSeconds: 60 },
        },
      });
      assert.equal(created.status, 201);
      assert.deepEqual(created.json.config, { maxBodyBytes: 2048, dedupWindowSeconds: 60 });
      const row = await server.sb.ctx.db.get<{ config: string; token: string; token_hash: string }>(
        'SELECT config, token, token_hash FROM sources WHERE id = ?',
        [created.json.id],
      );
      assert.ok(row);
      assert.ok(row.config.startsWith('v1:') && !row.config.includes('query-secret-value'));
      const token = String(created.json.ingestUrl).split('/in/')[1];
      assert.ok(row.token.startsWith('v1:') && !row.token.includes(token));
      assert.match(row.token_hash, /^[0-9a-f]{64}$/);
    });

    it('is organisation-only and answers JSON errors', async () => {
      const unauth = await server.request('GET', '/ingest/api/v1/source', { token: 'nope' });
      assert.equal(unauth.status, 401);
      assert.equal(typeof unauth.json.code, 'string');
      const missing = await server.request('GET', '/ingest/api/v1/source/nothing-here');
      assert.equal(missing.status, 404);
      assert.equal(missing.json.code, 'not_found');
      const rotateMissing = await server.request(
        'POST',
        '/ingest/api/v1/source/nothing-here/token/rotate',
      );
      assert.equal(rotateMissing.status, 404);
      const badQuery = await server.request('GET', '/ingest/api/v1/source?limit=999');
      assert.equal(badQuery.status, 422);
    });
  });
}
