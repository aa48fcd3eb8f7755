import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ApiException, Svix } from 'svix';
import type { AppId, EndpointId } from '../../src/core/ids.js';
import { signingKeys } from '../../src/outbound/endpoints.js';
import {
  generateSecret,
  generateSigningKey,
  publicKeyFromSigningKey,
} from '../../src/outbound/signing.js';
import { listMatchingEndpoints } from '../../src/store/endpoints.js';
import { backends } from '../helpers/backends.js';
import { appScopedToken } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const status = (code: number) => (error: ApiException<unknown>) => error.code === code;

for (const backend of await backends()) {
  describe(`endpoints (${backend})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend);
      for (const name of ['user.signup', 'user.deleted', 'order.paid']) {
        await server.svix.eventType.create({ name, description: name });
      }
    });
    after(() => server.close());

    it('creates, reads, lists, upserts, patches and deletes through the svix SDK', async () => {
      const { svix } = server;
      const app = await svix.application.create({ name: 'Acme', uid: 'acme-crud' });
      const created = await svix.endpoint.create('acme-crud', {
        url: 'https://example.com',
        uid: 'primary',
        eventTypes: ['user.signup', 'order.paid'],
        channels: ['project_1', 'ch:2'],
        metadata: { team: 'billing' },
        throttleRate: 5,
      });
      assert.match(created.id, /^ep_[A-Za-z0-9]{27}$/);
      assert.equal(created.url, 'https://example.com/', 'the URL is normalised');
      assert.equal(created.description, '', 'description defaults to ""');
      assert.equal(created.uid, 'primary');
      assert.equal(created.disabled, false);
      assert.equal(created.throttleRate, 5);
      assert.deepEqual(created.eventTypes, ['user.signup', 'order.paid']);
      assert.deepEqual(created.channels, ['project_1', 'ch:2']);
      assert.deepEqual(created.metadata, { team: 'billing' });
      assert.ok(created.createdAt instanceof Date && !Number.isNaN(created.createdAt.getTime()));

      // id or uid, for the application and for the endpoint.
      for (const [appRef, epRef] of [
        [app.id, created.id],
        ['acme-crud', 'primary'],
        [app.id, 'primary'],
      ]) {
        assert.equal((await svix.endpoint.get(appRef, epRef)).id, created.id);
      }
      const raw = await server.request('GET', `/api/v1/app/${app.id}/endpoint/primary`);
      assert.equal(raw.json.version, 1);
      assert.equal(raw.json.rateLimit, 5, 'OSS alias emitted');
      assert.deepEqual(raw.json.filterTypes, ['user.signup', 'order.paid']);
      assert.ok(!('secret' in raw.json) && !('headers' in raw.json), 'no secrets in EndpointOut');

      const list = await svix.endpoint.list('acme-crud');
      assert.deepEqual(
        list.data.map((e) => e.id),
        [created.id],
      );

      // PUT on an existing endpoint: 200 and a full replace.
      const replaced = await server.request('PUT', `/api/v1/app/${app.id}/endpoint/primary`, {
        body: { url: 'https://example.org/hook', uid: 'primary', description: 'Replaced' },
      });
      assert.equal(replaced.status, 200, replaced.text);
      assert.equal(replaced.json.id, created.id);
      assert.equal(replaced.json.url, 'https://example.org/hook');
      assert.equal(replaced.json.eventTypes, null, 'omitted eventTypes become null (all)');
      assert.equal(replaced.json.channels, null);
      assert.equal(replaced.json.throttleRate, null);
      assert.deepEqual(replaced.json.metadata, {});
      const upserted = await svix.endpoint.upsert(app.id, 'primary', {
        url: 'https://example.com/v2',
        uid: 'primary',
        eventTypes: ['user.signup'],
      });
      assert.equal(upserted.id, created.id);
      assert.deepEqual(upserted.eventTypes, ['user.signup']);

      // PUT on nothing: 201, a new endpoint with a generated id and the body's uid only.
      const createdByPut = await server.request('PUT', `/api/v1/app/${app.id}/endpoint/secondary`, {
        body: { url: 'https://example.com/second', uid: 'secondary' },
      });
      assert.equal(createdByPut.status, 201, createdByPut.text);
      assert.match(createdByPut.json.id, /^ep_/);
      assert.equal(createdByPut.json.uid, 'secondary');
      assert.match(
        (await svix.endpoint.getSecret(app.id, 'secondary')).key,
        /^whsec_/,
        'a PUT-created endpoint gets a secret',
      );

      // PATCH: absent = unchanged, null = cleared.
      await svix.endpoint.patch(app.id, 'primary', {
        description: 'Patched',
        channels: ['a'],
        throttleRate: 7,
      });
      const patched = await svix.endpoint.patch(app.id, 'primary', {
        eventTypes: null,
        throttleRate: null,
      });
      assert.equal(patched.eventTypes, null, 'null clears');
      assert.equal(patched.throttleRate, null, 'null clears');
      assert.equal(patched.description, 'Patched', 'absent stays');
      assert.deepEqual(patched.channels, ['a'], 'absent stays');
      assert.equal(patched.url, 'https://example.com/v2');
      const disabled = await svix.endpoint.patch(app.id, 'primary', { disabled: true });
      assert.equal(disabled.disabled, true);
      const renamed = await svix.endpoint.patch(app.id, 'primary', { uid: null });
      assert.equal(renamed.uid, null);
      await assert.rejects(svix.endpoint.get(app.id, 'primary'), status(404));
      await svix.endpoint.patch(app.id, created.id, { uid: 'primary' });

      // DELETE: 204, gone, uid free again.
      assert.equal(await svix.endpoint.delete(app.id, 'primary'), undefined);
      await assert.rejects(svix.endpoint.get(app.id, created.id), status(404));
      await assert.rejects(svix.endpoint.delete(app.id, created.id), status(404));
      assert.deepEqual(
        (await svix.endpoint.list(app.id)).data.map((e) => e.uid),
        ['secondary'],
      );
      const reused = await svix.endpoint.create(app.id, { url: 'https://x.test/', uid: 'primary' });
      assert.notEqual(reused.id, created.id, 'a deleted endpoint frees its uid');
    });

    it('accepts the OSS aliases rateLimit and filterTypes', async () => {
      const app = await server.svix.application.create({ name: 'Aliases' });
      const response = await server.request('POST', `/api/v1/app/${app.id}/endpoint`, {
        body: {
          url: 'https://example.com/',
          rateLimit: 9,
          filterTypes: ['order.paid'],
          version: 2,
        },
      });
      assert.equal(response.status, 201, response.text);
      assert.equal(response.json.throttleRate, 9);
      assert.deepEqual(response.json.eventTypes, ['order.paid']);
      assert.equal(response.json.version, 2);
      const both = await server.request('POST', `/api/v1/app/${app.id}/endpoint`, {
        body: { url: 'https://example.com/', throttleRate: 3, rateLimit: 9 },
      });
      assert.equal(both.json.throttleRate, 3, 'throttleRate wins');
    });

    it('paginates newest first with iterators in both directions', async () => {
      const app = await server.svix.application.create({ name: 'Paging' });
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        ids.push((await server.svix.endpoint.create(app.id, { url: `https://e${i}.test/` })).id);
      }
      const newest = [...ids].reverse();
      const first = await server.svix.endpoint.list(app.id, { limit: 3 });
      assert.deepEqual(
        first.data.map((e) => e.id),
        newest.slice(0, 3),
      );
      assert.equal(first.done, false);
      const second = await server.svix.endpoint.list(app.id, {
        limit: 3,
        iterator: first.iterator,
      });
      assert.deepEqual(
        second.data.map((e) => e.id),
        newest.slice(3, 6),
      );
      const third = await server.svix.endpoint.list(app.id, {
        limit: 3,
        iterator: second.iterator,
      });
      assert.deepEqual(
        third.data.map((e) => e.id),
        newest.slice(6),
      );
      assert.equal(third.done, true);
      const back = await server.svix.endpoint.list(app.id, {
        limit: 3,
        iterator: third.prevIterator,
      });
      assert.deepEqual(
        back.data.map((e) => e.id),
        newest.slice(3, 6),
      );
      const ascending = await server.svix.endpoint.list(app.id, {
        limit: 4,
        order: 'ascending' as never,
      });
      assert.deepEqual(
        ascending.data.map((e) => e.id),
        ids.slice(0, 4),
      );
      const badIterator = await server.request(
        'GET',
        `/api/v1/app/${app.id}/endpoint?iterator=msg_123`,
      );
      assert.equal(badIterator.status, 422);
      assert.deepEqual(badIterator.json.detail[0].loc, ['query', 'iterator']);
    });

    it('generates, returns and rotates secrets, sealed at rest', async () => {
      const { svix, sb } = server;
      const { ctx } = sb;
      const app = await svix.application.create({ name: 'Secrets' });
      const ep = await svix.endpoint.create(app.id, { url: 'https://example.com/' });
      const first = (await svix.endpoint.getSecret(app.id, ep.id)).key;
      assert.match(first, /^whsec_[A-Za-z0-9+/]+={0,2}$/);
      assert.equal(Buffer.from(first.slice(6), 'base64').length, 32);

      const given = generateSecret(24);
      const withSecret = await svix.endpoint.create(app.id, {
        url: 'https://example.com/',
        secret: given,
      });
      assert.equal((await svix.endpoint.getSecret(app.id, withSecret.id)).key, given);

      // ed25519: the API hands out the public key.
      const signingKey = generateSigningKey();
      const ed = await svix.endpoint.create(app.id, {
        url: 'https://example.com/',
        secret: signingKey,
      });
      assert.equal(
        (await svix.endpoint.getSecret(app.id, ed.id)).key,
        publicKeyFromSigningKey(signingKey),
      );
      assert.deepEqual(await signingKeys(ctx, ed.id as EndpointId), [signingKey]);

      // Not stored in plaintext.
      const row = await ctx.db.get<{ secret: string; headers: string }>(
        'SELECT secret, headers FROM endpoints WHERE id = ?',
        [ep.id],
      );
      assert.ok(row);
      assert.ok(!row.secret.includes(first) && !row.secret.includes(first.slice(6)));
      assert.match(row.secret, /^v1:/);

      // Rotate: a new key; the old one keeps signing during the grace period.
      assert.equal(await svix.endpoint.rotateSecret(app.id, ep.id), undefined);
      const second = (await svix.endpoint.getSecret(app.id, ep.id)).key;
      assert.notEqual(second, first);
      assert.deepEqual(await signingKeys(ctx, ep.id as EndpointId), [second, first]);
      const old = await ctx.db.all<{ secret: string }>(
        'SELECT secret FROM endpoint_old_secrets WHERE endpoint_id = ?',
        [ep.id],
      );
      assert.equal(old.length, 1);
      assert.ok(!old[0].secret.includes(first.slice(6)), 'old secrets are sealed too');

      // A caller-chosen key, with a short grace period that then runs out.
      const third = generateSecret();
      await svix.endpoint.rotateSecret(app.id, ep.id, { key: third, gracePeriodSeconds: 60 });
      assert.equal((await svix.endpoint.getSecret(app.id, ep.id)).key, third);
      assert.deepEqual(await signingKeys(ctx, ep.id as EndpointId), [third, first, second]);
      const realClock = ctx.clock;
      ctx.clock = () => realClock() + 61_000;
      try {
        assert.deepEqual(
          await signingKeys(ctx, ep.id as EndpointId),
          [third, first],
          'the 60 s key expired, the 24 h one did not',
        );
      } finally {
        ctx.clock = realClock;
      }

      // A bare POST (no body) rotates too.
      const bare = await server.request(
        'POST',
        `/api/v1/app/${app.id}/endpoint/${ep.id}/secret/rotate`,
      );
      assert.equal(bare.status, 204, bare.text);
      const afterBare = (await svix.endpoint.getSecret(app.id, ep.id)).key;
      assert.notEqual(afterBare, third);
      assert.deepEqual(
        await signingKeys(ctx, ep.id as EndpointId),
        [afterBare, third, first, second],
        'newest first (latest expiry first); the 60 s key is still valid',
      );

      // gracePeriodSeconds 0: the old key stops signing at once.
      await svix.endpoint.rotateSecret(app.id, ep.id, { gracePeriodSeconds: 0 });
      const fourth = (await svix.endpoint.getSecret(app.id, ep.id)).key;
      const keys = await signingKeys(ctx, ep.id as EndpointId);
      assert.equal(keys[0], fourth);
      assert.ok(!keys.includes(afterBare), 'the immediately expired key is gone');
      assert.deepEqual(keys, [fourth, third, first, second]);

      // Bad keys and grace periods: 422, nothing rotated.
      for (const [body, loc] of [
        [{ key: 'not-a-secret' }, ['body', 'key']],
        [{ key: 'whsec_dG9vc2hvcnQ=' }, ['body', 'key']],
        [{ key: `whsk_${Buffer.alloc(64, 1).toString('base64')}` }, ['body', 'key']],
        [{ gracePeriodSeconds: 604801 }, ['body', 'gracePeriodSeconds']],
        [{ gracePeriodSeconds: -1 }, ['body', 'gracePeriodSeconds']],
      ] as const) {
        const response = await server.request(
          'POST',
          `/api/v1/app/${app.id}/endpoint/${ep.id}/secret/rotate`,
          { body },
        );
        assert.equal(response.status, 422, `${JSON.stringify(body)}: ${response.text}`);
        assert.deepEqual(response.json.detail[0].loc, loc);
      }
      assert.equal((await svix.endpoint.getSecret(app.id, ep.id)).key, fourth);

      // At most 10 old keys in their grace period: the 11th rotation is refused.
      const limited = await svix.endpoint.create(app.id, { url: 'https://example.com/' });
      for (let i = 0; i < 10; i++) await svix.endpoint.rotateSecret(app.id, limited.id);
      const before = (await svix.endpoint.getSecret(app.id, limited.id)).key;
      await assert.rejects(
        svix.endpoint.rotateSecret(app.id, limited.id),
        (error: ApiException<{ code: string; detail: string }>) => {
          assert.equal(error.code, 400);
          assert.equal(error.body.code, 'limit_reached');
          return true;
        },
      );
      assert.equal((await svix.endpoint.getSecret(app.id, limited.id)).key, before);
      assert.equal((await signingKeys(ctx, limited.id as EndpointId)).length, 11);

      await assert.rejects(svix.endpoint.getSecret(app.id, 'ep_nope'), status(404));
      await assert.rejects(svix.endpoint.rotateSecret(app.id, 'ep_nope'), status(404));
    });

    it('stores custom headers sealed and hides the sensitive ones', async () => {
      const { svix, sb } = server;
      const app = await svix.application.create({ name: 'Headers' });
      const ep = await svix.endpoint.create(app.id, {
        url: 'https://example.com/',
        headers: { 'X-Tenant': 'acme', Authorization: 'Bearer s3cr3t-token' },
      });
      assert.deepEqual(await svix.endpoint.getHeaders(app.id, ep.id), {
        headers: { 'X-Tenant': 'acme' },
        sensitive: ['Authorization'],
      });
      const row = await sb.ctx.db.get<{ headers: string }>(
        'SELECT headers FROM endpoints WHERE id = ?',
        [ep.id],
      );
      assert.ok(row && !row.headers.includes('s3cr3t-token') && !row.headers.includes('acme'));

      const bare = await svix.endpoint.create(app.id, { url: 'https://example.com/' });
      assert.deepEqual(await svix.endpoint.getHeaders(app.id, bare.id), {
        headers: {},
        sensitive: [],
      });

      // PUT replaces everything.
      assert.equal(
        await svix.endpoint.setHeaders(app.id, ep.id, {
          headers: { 'x-one': '1', 'x-two': '2', 'x-api-key': 'k' },
        }),
        undefined,
      );
      assert.deepEqual(await svix.endpoint.getHeaders(app.id, ep.id), {
        headers: { 'x-one': '1', 'x-two': '2' },
        sensitive: ['x-api-key'],
      });

      // PATCH merges; deleteHeaders (SDK) and null values (OSS) remove; names match in any case.
      await svix.endpoint.patchHeaders(app.id, ep.id, {
        headers: { 'X-Three': '3', 'X-ONE': 'uno' },
        deleteHeaders: ['x-two'],
      });
      assert.deepEqual(await svix.endpoint.getHeaders(app.id, ep.id), {
        headers: { 'X-ONE': 'uno', 'X-Three': '3' },
        sensitive: ['x-api-key'],
      });
      const nulls = await server.request(
        'PATCH',
        `/api/v1/app/${app.id}/endpoint/${ep.id}/headers`,
        {
          body: { headers: { 'x-three': null, 'X-Api-Key': null } },
        },
      );
      assert.equal(nulls.status, 204, nulls.text);
      assert.deepEqual(await svix.endpoint.getHeaders(app.id, ep.id), {
        headers: { 'X-ONE': 'uno' },
        sensitive: [],
      });

      // Invalid headers: 422 at the header, nothing changed.
      const bad: [string, Record<string, unknown>][] = [
        ['forbidden name', { 'User-Agent': 'x' }],
        ['forbidden prefix', { 'x-amz-date': 'x' }],
        ['svix prefix', { 'svix-id': 'x' }],
        ['invalid name', { 'bad header': 'x' }],
        ['invalid value', { 'x-ok': 'line\nbreak' }],
        ['too long', { 'x-long': 'a'.repeat(4097) }],
      ];
      for (const [label, headers] of bad) {
        const name = Object.keys(headers)[0];
        for (const method of ['PUT', 'PATCH']) {
          const response = await server.request(
            method,
            `/api/v1/app/${app.id}/endpoint/${ep.id}/headers`,
            { body: { headers } },
          );
          assert.equal(response.status, 422, `${method} ${label}: ${response.text}`);
          assert.deepEqual(response.json.detail[0].loc, ['body', 'headers', name], label);
        }
        const onCreate = await server.request('POST', `/api/v1/app/${app.id}/endpoint`, {
          body: { url: 'https://example.com/', headers },
        });
        assert.equal(onCreate.status, 422, `create ${label}`);
        assert.deepEqual(onCreate.json.detail[0].loc, ['body', 'headers', name], label);
      }
      const wrongType = await server.request(
        'PUT',
        `/api/v1/app/${app.id}/endpoint/${ep.id}/headers`,
        { body: { headers: { 'x-n': 1 } } },
      );
      assert.equal(wrongType.status, 422);
      assert.deepEqual(await svix.endpoint.getHeaders(app.id, ep.id), {
        headers: { 'X-ONE': 'uno' },
        sensitive: [],
      });
      assert.equal((await svix.endpoint.list(app.id)).data.length, 2, 'no endpoint was created');
      await assert.rejects(svix.endpoint.getHeaders(app.id, 'ep_nope'), status(404));
      await assert.rejects(
        svix.endpoint.setHeaders(app.id, 'ep_nope', { headers: {} }),
        status(404),
      );
    });

    it('answers bad input with 422 at the field and writes nothing', async () => {
      const app = await server.svix.application.create({ name: 'Validation' });
      await server.svix.eventType.create({ name: 'legacy.thing', description: 'old' });
      await server.svix.eventType.delete('legacy.thing');
      const existing = await server.svix.endpoint.create(app.id, {
        url: 'https://example.com/',
        uid: 'taken',
      });
      const count = async () =>
        (await server.svix.endpoint.list(app.id, { limit: 250 })).data.length;
      const before = await count();
      const url = 'https://example.com/';
      const cases: [string, unknown, (string | number)[], string?][] = [
        ['missing url', { description: 'x' }, ['body', 'url']],
        ['ftp url', { url: 'ftp://example.com/' }, ['body', 'url']],
        ['relative url', { url: '/hook' }, ['body', 'url']],
        ['not a url', { url: 'not a url' }, ['body', 'url']],
        ['uid with id prefix', { url, uid: 'ep_123' }, ['body', 'uid']],
        ['bad uid', { url, uid: 'has space' }, ['body', 'uid']],
        ['zero throttle', { url, throttleRate: 0 }, ['body', 'throttleRate']],
        [
          'unknown event types',
          { url, eventTypes: ['user.signup', 'nope.a', 'nope.b'] },
          ['body', 'eventTypes'],
          "The following event types don't exist: nope.a, nope.b",
        ],
        [
          'archived event type',
          { url, eventTypes: ['legacy.thing'] },
          ['body', 'eventTypes'],
          "The following event types don't exist: legacy.thing",
        ],
        ['empty event types', { url, eventTypes: [] }, ['body', 'eventTypes']],
        [
          'duplicate event types',
          { url, eventTypes: ['order.paid', 'order.paid'] },
          ['body', 'eventTypes'],
        ],
        ['empty channels', { url, channels: [] }, ['body', 'channels']],
        [
          'eleven channels',
          { url, channels: Array.from({ length: 11 }, (_, i) => `c${i}`) },
          ['body', 'channels'],
        ],
        ['duplicate channels', { url, channels: ['a', 'a'] }, ['body', 'channels']],
        [
          'secret without prefix',
          { url, secret: 'abcdefghijklmnopqrstuvwxyz012345' },
          ['body', 'secret'],
        ],
        [
          'short secret',
          { url, secret: `whsec_${Buffer.alloc(16).toString('base64')}` },
          ['body', 'secret'],
        ],
        [
          'long secret',
          { url, secret: `whsec_${Buffer.alloc(65).toString('base64')}` },
          ['body', 'secret'],
        ],
        ['bad base64 secret', { url, secret: 'whsec_!!!!' }, ['body', 'secret']],
        ['empty secret', { url, secret: '' }, ['body', 'secret']],
        ['bad metadata', { url, metadata: { a: 1 } }, ['body', 'metadata', 'a']],
        ['huge metadata', { url, metadata: { a: 'x'.repeat(5000) } }, ['body', 'metadata']],
        ['disabled not a bool', { url, disabled: 'no' }, ['body', 'disabled']],
      ];
      for (const [label, body, loc, msg] of cases) {
        const response = await server.request('POST', `/api/v1/app/${app.id}/endpoint`, { body });
        assert.equal(response.status, 422, `${label}: ${response.text}`);
        assert.deepEqual(response.json.detail[0].loc, loc, label);
        if (msg) assert.equal(response.json.detail[0].msg, msg, label);
      }
      const path = `/api/v1/app/${app.id}/endpoint/${existing.id}`;
      for (const [label, body, loc] of [
        ['null url', { url: null }, ['body', 'url']],
        ['null description', { description: null }, ['body', 'description']],
        ['null disabled', { disabled: null }, ['body', 'disabled']],
        ['bad url', { url: 'mailto:a@b.c' }, ['body', 'url']],
        ['unknown event type', { eventTypes: ['nope'] }, ['body', 'eventTypes']],
        ['uid with id prefix', { uid: 'ep_x' }, ['body', 'uid']],
      ] as const) {
        const response = await server.request('PATCH', path, { body });
        assert.equal(response.status, 422, `PATCH ${label}: ${response.text}`);
        assert.deepEqual(response.json.detail[0].loc, loc, `PATCH ${label}`);
      }
      const putNew = await server.request('PUT', `/api/v1/app/${app.id}/endpoint/fresh-uid`, {
        body: { url: 'gopher://x/', uid: 'fresh-uid' },
      });
      assert.equal(putNew.status, 422);
      assert.deepEqual(putNew.json.detail[0].loc, ['body', 'url']);

      // An endpoint already filtering on an event type keeps it after the type is archived;
      // only newly added names must be live.
      await server.svix.eventType.create({ name: 'soon.archived', description: 'x' });
      const keeper = await server.svix.endpoint.create(app.id, {
        url,
        eventTypes: ['soon.archived'],
      });
      await server.svix.eventType.delete('soon.archived');
      const kept = await server.svix.endpoint.patch(app.id, keeper.id, {
        eventTypes: ['soon.archived', 'user.signup'],
      });
      assert.deepEqual(kept.eventTypes, ['soon.archived', 'user.signup']);
      const keptByPut = await server.svix.endpoint.upsert(app.id, keeper.id, {
        url,
        eventTypes: ['soon.archived'],
      });
      assert.deepEqual(keptByPut.eventTypes, ['soon.archived']);
      const addArchived = await server.request('PATCH', path, {
        body: { eventTypes: ['soon.archived'] },
      });
      assert.equal(addArchived.status, 422);
      assert.equal(
        addArchived.json.detail[0].msg,
        "The following event types don't exist: soon.archived",
      );

      // 409 on a uid clash, by create, PUT and PATCH.
      await assert.rejects(
        server.svix.endpoint.create(app.id, { url, uid: 'taken' }),
        (error: ApiException<{ code: string }>) =>
          error.code === 409 && error.body.code === 'conflict',
      );
      const other = await server.svix.endpoint.create(app.id, { url, uid: 'other' });
      await assert.rejects(
        server.svix.endpoint.patch(app.id, other.id, { uid: 'taken' }),
        status(409),
      );
      await assert.rejects(
        server.svix.endpoint.upsert(app.id, other.id, { url, uid: 'taken' }),
        status(409),
      );
      await assert.rejects(
        server.svix.endpoint.upsert(app.id, 'brand-new', { url, uid: 'taken' }),
        status(409),
      );
      assert.equal((await server.svix.endpoint.get(app.id, other.id)).uid, 'other');
      assert.equal((await server.svix.endpoint.get(app.id, existing.id)).url, url);

      assert.equal(await count(), before + 2, 'only "keeper" and "other" were written');
    });

    it('answers 404 for unknown applications and endpoints', async () => {
      const { svix } = server;
      const app = await svix.application.create({ name: 'Lookups' });
      await assert.rejects(svix.endpoint.list('app_doesnotexist'), status(404));
      await assert.rejects(
        svix.endpoint.create('no-such-app', { url: 'https://example.com/' }),
        status(404),
      );
      await assert.rejects(svix.endpoint.get(app.id, 'ep_doesnotexist'), status(404));
      await assert.rejects(svix.endpoint.patch(app.id, 'nope', { description: 'x' }), status(404));
      await assert.rejects(svix.endpoint.delete(app.id, 'nope'), status(404));
      const unknown = await server.request('GET', `/api/v1/app/${app.id}/endpoint/nope`);
      assert.equal(unknown.status, 404);
      assert.deepEqual(Object.keys(unknown.json).sort(), ['code', 'detail']);
      // An endpoint of another application is not reachable through this one.
      const otherApp = await svix.application.create({ name: 'Other' });
      const foreign = await svix.endpoint.create(otherApp.id, { url: 'https://example.com/' });
      await assert.rejects(svix.endpoint.get(app.id, foreign.id), status(404));
      await assert.rejects(svix.endpoint.getSecret(app.id, foreign.id), status(404));
      await svix.application.delete(otherApp.id);
      await assert.rejects(svix.endpoint.get(otherApp.id, foreign.id), status(404));
    });

    it('keeps application-scoped keys inside their own application', async () => {
      const { svix } = server;
      const mine = await svix.application.create({ name: 'Mine' });
      const theirs = await svix.application.create({ name: 'Theirs', uid: 'theirs' });
      const theirEndpoint = await svix.endpoint.create(theirs.id, {
        url: 'https://theirs.example/',
        uid: 'their-ep',
      });
      const token = await appScopedToken(server, mine.id);
      const scoped = new Svix(token, { serverUrl: server.url });

      const own = await scoped.endpoint.create(mine.id, { url: 'https://mine.example/' });
      assert.deepEqual(
        (await scoped.endpoint.list(mine.id)).data.map((e) => e.id),
        [own.id],
      );
      assert.match((await scoped.endpoint.getSecret(mine.id, own.id)).key, /^whsec_/);
      await scoped.endpoint.patch(mine.id, own.id, { description: 'mine' });

      for (const appRef of [theirs.id, 'theirs']) {
        await assert.rejects(scoped.endpoint.list(appRef), status(404));
        await assert.rejects(scoped.endpoint.get(appRef, theirEndpoint.id), status(404));
        await assert.rejects(scoped.endpoint.getSecret(appRef, 'their-ep'), status(404));
        await assert.rejects(scoped.endpoint.getHeaders(appRef, 'their-ep'), status(404));
        await assert.rejects(
          scoped.endpoint.create(appRef, { url: 'https://evil.example/' }),
          status(404),
        );
        await assert.rejects(scoped.endpoint.delete(appRef, theirEndpoint.id), status(404));
        await assert.rejects(scoped.endpoint.rotateSecret(appRef, theirEndpoint.id), status(404));
      }
      await assert.rejects(
        scoped.eventType.create({ name: 'scoped.made', description: 'x' }),
        status(403),
      );
      assert.deepEqual(
        (await svix.endpoint.list(theirs.id)).data.map((e) => e.id),
        [theirEndpoint.id],
        'nothing was written to the other application',
      );
    });

    it('lists the endpoints a message fans out to', async () => {
      const { svix, sb } = server;
      const app = await svix.application.create({ name: 'Fan-out' });
      const url = 'https://example.com/';
      const all = await svix.endpoint.create(app.id, { url });
      const signups = await svix.endpoint.create(app.id, { url, eventTypes: ['user.signup'] });
      const orders = await svix.endpoint.create(app.id, { url, eventTypes: ['order.paid'] });
      const channelA = await svix.endpoint.create(app.id, { url, channels: ['a'] });
      const channelsBC = await svix.endpoint.create(app.id, {
        url,
        channels: ['b', 'c'],
        eventTypes: ['user.signup'],
      });
      const disabled = await svix.endpoint.create(app.id, { url, disabled: true });
      const deleted = await svix.endpoint.create(app.id, { url });
      await svix.endpoint.delete(app.id, deleted.id);
      const other = await svix.application.create({ name: 'Fan-out other' });
      await svix.endpoint.create(other.id, { url });

      const match = async (eventType: string, channels: string[] | null) =>
        (await listMatchingEndpoints(sb.ctx.db, app.id as AppId, eventType, channels)).map(
          (e): string => e.id,
        );
      assert.deepEqual(await match('user.signup', null), [all.id, signups.id]);
      assert.deepEqual(await match('user.signup', ['c']), [all.id, signups.id, channelsBC.id]);
      assert.deepEqual(await match('order.paid', ['a', 'z']), [all.id, orders.id, channelA.id]);
      assert.deepEqual(await match('order.paid', ['b']), [all.id, orders.id]);
      assert.deepEqual(await match('other.type', []), [all.id]);
      assert.ok(!(await match('user.signup', ['a', 'b', 'c'])).includes(disabled.id));

      // Runs inside a transaction too.
      const inTx = await sb.ctx.db.transaction((tx) =>
        listMatchingEndpoints(tx, app.id as AppId, 'user.signup', null),
      );
      assert.equal(inTx.length, 2);
      assert.equal(inTx[0].url, url);
    });
  });
}
