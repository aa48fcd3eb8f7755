import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sign } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import type { ApiException } from 'svix';
import { backends } from '../helpers/backends.js';
import { type Hook, startHook } from '../helpers/hook.js';
import { createSource, inboundEvent } from '../helpers/inbound.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const GITHUB_SECRET = 'It is a secret to everybody';

const status = (code: number) => (error: ApiException<unknown>) => error.code === code;

for (const backend of await backends()) {
  describe(`inbound forwarding (${backend})`, () => {
    let server: TestServer;
    let hook: Hook;

    const createGithubSource = (uid?: string) =>
      createSource(server, {
        name: 'github',
        type: 'github',
        uid,
        config: { secret: GITHUB_SECRET },
      });

    async function sendGithub(path: string, payload: string | Buffer, delivery: string) {
      // @octokit signs strings (as UTF-8); raw bytes are signed the same way by hand.
      const signature =
        typeof payload === 'string'
          ? await sign(GITHUB_SECRET, payload)
          : `sha256=${createHmac('sha256', GITHUB_SECRET).update(payload).digest('hex')}`;
      return server.request('POST', path, {
        rawBody: payload,
        token: null,
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': delivery,
          'x-hub-signature-256': signature,
        },
      });
    }

    before(async () => {
      server = await startTestServer(backend);
      hook = await startHook();
    });
    after(async () => {
      await server.close();
      hook.server.close();
    });

    it('forwards the exact body, signed with the endpoint secret, and marks it routed', async () => {
      const source = await createGithubSource();
      const endpoint = await server.svix.ingest.endpoint.create(source.id, {
        url: `${hook.url}/exact`,
      });
      assert.match(endpoint.id, /^ep_/);
      const { key } = await server.svix.ingest.endpoint.getSecret(source.id, endpoint.id);
      assert.match(key, /^whsec_/);

      const payload = '{"ref":"refs/heads/main",  "note":"héllo ✓","n":1.0}\n';
      const answer = await sendGithub(source.path, payload, 'delivery-exact-1');
      assert.equal(answer.status, 200, answer.text);

      const hit = await waitFor('the forwarded request', () => hook.hitsAt('/exact')[0]);
      assert.ok(hit.body.equals(Buffer.from(payload, 'utf8')), 'same body bytes');
      assert.ok(hit.headers['webhook-id']);
      assert.ok(hit.headers['webhook-signature']);
      assert.doesNotThrow(() => new Webhook(key).verify(hit.body.toString('utf8'), hit.headers));
      assert.equal((await inboundEvent(server, source.id, 'delivery-exact-1'))?.status, 'routed');

      // The same x-github-delivery again: stored as a duplicate, never forwarded twice.
      const again = await sendGithub(source.path, payload, 'delivery-exact-1');
      assert.equal(again.status, 200);
      await sleep(500);
      assert.equal(hook.hitsAt('/exact').length, 1);
      const statuses = await server.sb.ctx.db.all<{ status: string }>(
        'SELECT status FROM inbound_events WHERE source_id = ? ORDER BY id',
        [source.id],
      );
      assert.deepEqual(
        statuses.map((row) => row.status),
        ['routed', 'duplicate'],
      );
    });

    it('deleting a source retires its forwarding endpoints', async () => {
      const source = await createGithubSource();
      await server.svix.ingest.endpoint.create(source.id, { url: `${hook.url}/retired` });
      const key = `switchboard:source:${source.id}`;
      const live = await server.sb.ctx.db.get<{ id: string }>(
        'SELECT id FROM applications WHERE uid = ? AND internal = 1 AND deleted_at IS NULL',
        [key],
      );
      assert.ok(live, 'the source has its hidden application');
      await server.svix.ingest.source.delete(source.id);
      const after = await server.sb.ctx.db.get<{ deleted_at: number | null }>(
        'SELECT deleted_at FROM applications WHERE id = ?',
        [live.id],
      );
      assert.notEqual(after?.deleted_at, null, 'its application is deleted with it');
    });

    it('keeps the event received when the source has no endpoint', async () => {
      const source = await createGithubSource();
      const answer = await sendGithub(source.path, '{"zen":"quiet"}', 'delivery-lonely');
      assert.equal(answer.status, 200);
      assert.equal((await inboundEvent(server, source.id, 'delivery-lonely'))?.status, 'received');
      const list = await server.svix.ingest.endpoint.list(source.id);
      assert.deepEqual(list.data, []);
    });

    it('does not forward to a disabled endpoint', async () => {
      const source = await createGithubSource();
      await server.svix.ingest.endpoint.create(source.id, {
        url: `${hook.url}/disabled`,
        disabled: true,
      });
      await sendGithub(source.path, '{"a":1}', 'delivery-disabled');
      assert.equal(
        (await inboundEvent(server, source.id, 'delivery-disabled'))?.status,
        'received',
      );
      await sleep(300);
      assert.equal(hook.hitsAt('/disabled').length, 0);
    });

    it('forwards a non-UTF-8 body as base64 and says so', async () => {
      const source = await createGithubSource();
      await server.svix.ingest.endpoint.create(source.id, { url: `${hook.url}/binary` });
      const body = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
      const answer = await sendGithub(source.path, body, 'delivery-binary');
      assert.equal(answer.status, 200, answer.text);
      const hit = await waitFor('the binary request', () => hook.hitsAt('/binary')[0]);
      assert.equal(hit.body.toString('utf8'), body.toString('base64'));
      const event = await inboundEvent(server, source.id, 'delivery-binary');
      assert.equal(event?.status, 'routed');
      assert.equal(event?.error, 'binary body forwarded as base64');
    });

    it('manages ingest endpoints through the SDK', async () => {
      const source = await createGithubSource(`gh-${backend}`);
      const ingest = server.svix.ingest.endpoint;
      // By uid as well as by id.
      const created = await ingest.create(`gh-${backend}`, {
        url: `${hook.url}/managed`,
        description: 'first',
        uid: 'managed-1',
        metadata: { team: 'core' },
        headers: { 'x-team': 'core', authorization: 'Bearer s3cret' },
      });
      assert.equal(created.description, 'first');
      assert.deepEqual(created.metadata, { team: 'core' });
      assert.ok(created.createdAt instanceof Date);

      const got = await ingest.get(source.id, 'managed-1');
      assert.equal(got.id, created.id);
      const list = await ingest.list(source.id, { limit: 10 });
      assert.deepEqual(
        list.data.map((e) => e.id),
        [created.id],
      );
      assert.equal(list.done, true);

      const updated = await ingest.upsert(source.id, created.id, {
        url: `${hook.url}/managed2`,
        description: 'second',
        throttleRate: 10,
      });
      assert.equal(updated.url, `${hook.url}/managed2`);
      assert.equal(updated.throttleRate, 10);

      const patched = await server.request(
        'PATCH',
        `/ingest/api/v1/source/${source.id}/endpoint/${created.id}`,
        { body: { description: 'patched' } },
      );
      assert.equal(patched.status, 200, patched.text);
      assert.equal(patched.json.description, 'patched');
      assert.equal(patched.json.url, `${hook.url}/managed2`);

      const headers = await ingest.getHeaders(source.id, created.id);
      assert.deepEqual(headers.headers, { 'x-team': 'core' });
      assert.deepEqual(headers.sensitive, ['authorization']);
      await ingest.setHeaders(source.id, created.id, { headers: { 'x-other': '1' } });
      assert.deepEqual((await ingest.getHeaders(source.id, created.id)).headers, {
        'x-other': '1',
      });
      const headerPatch = await server.request(
        'PATCH',
        `/ingest/api/v1/source/${source.id}/endpoint/${created.id}/headers`,
        { body: { headers: { 'x-more': '2' } } },
      );
      assert.equal(headerPatch.status, 204, headerPatch.text);
      assert.deepEqual((await ingest.getHeaders(source.id, created.id)).headers, {
        'x-other': '1',
        'x-more': '2',
      });

      const before = (await ingest.getSecret(source.id, created.id)).key;
      await ingest.rotateSecret(source.id, created.id);
      const rotated = (await ingest.getSecret(source.id, created.id)).key;
      assert.notEqual(rotated, before);
      const chosen = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
      await ingest.rotateSecret(source.id, created.id, { key: chosen });
      assert.equal((await ingest.getSecret(source.id, created.id)).key, chosen);

      // The custom headers and the rotated secret are used when forwarding.
      await sendGithub(source.path, '{"managed":true}', 'delivery-managed');
      const hit = await waitFor('the managed request', () => hook.hitsAt('/managed2')[0]);
      assert.equal(hit.headers['x-other'], '1');
      assert.doesNotThrow(() => new Webhook(chosen).verify(hit.body.toString('utf8'), hit.headers));

      // Endpoints belong to their source only.
      const other = await createGithubSource();
      await assert.rejects(ingest.get(other.id, created.id), status(404));

      await ingest.delete(source.id, created.id);
      await assert.rejects(ingest.get(source.id, created.id), status(404));
      assert.deepEqual((await ingest.list(source.id)).data, []);
    });

    it('answers 404 for an unknown source', async () => {
      await assert.rejects(server.svix.ingest.endpoint.list('src_doesnotexist'), status(404));
      await assert.rejects(
        server.svix.ingest.endpoint.create('nope', { url: `${hook.url}/x` }),
        status(404),
      );
    });
  });
}
