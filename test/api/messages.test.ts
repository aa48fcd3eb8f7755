import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { messageInRaw, Svix } from 'svix';
import type { Sql } from '../../src/store/sql.js';
import { backends } from '../helpers/backends.js';
import { addEndpoint, appScopedToken, rejectsWith } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface DeliveryRow {
  id: string;
  msg_id: string;
  app_id: string;
  endpoint_id: string;
  status: number;
  trigger_type: number;
  attempt_count: number;
  next_attempt_at: number | null;
}

function deliveriesOf(server: TestServer, msgId: string): Promise<DeliveryRow[]> {
  return server.sb.ctx.db.all<DeliveryRow>(
    'SELECT id, msg_id, app_id, endpoint_id, status, trigger_type, attempt_count, next_attempt_at FROM deliveries WHERE msg_id = ? ORDER BY endpoint_id',
    [msgId],
  );
}

async function count(server: TestServer, table: string): Promise<number> {
  const row = await server.sb.ctx.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(row?.n ?? 0);
}

for (const backend of await backends()) {
  describe(`messages (${backend})`, () => {
    let server: TestServer;
    before(async () => {
      // API role: no delivery worker, so the deliveries these tests inspect stay as written.
      server = await startTestServer(backend, { SWITCHBOARD_ROLE: 'api' });
    });
    after(() => server.close());

    it('creates a message (202) and reads it by id and by eventId', async () => {
      const { svix } = server;
      const app = await svix.application.create({ name: 'Msgs' });
      const payload = { id: 1, nested: { list: [1, 2, 'three'], ok: true }, unicode: 'héllo ✓' };
      const created = await svix.message.create(app.id, {
        eventType: 'user.signup',
        payload,
        eventId: 'evt-1',
        channels: ['c1'],
        tags: ['t1'],
      });
      assert.match(created.id, /^msg_[A-Za-z0-9]{27}$/);
      assert.deepEqual(created.payload, {}, 'the SDK asks for with_content=false');
      assert.equal(created.eventId, 'evt-1');
      assert.equal(created.eventType, 'user.signup');
      assert.deepEqual(created.channels, ['c1']);
      assert.deepEqual(created.tags, ['t1']);
      assert.ok(created.timestamp instanceof Date && !Number.isNaN(created.timestamp.getTime()));

      const full = await svix.message.create(
        app.id,
        { eventType: 'user.signup', payload },
        { withContent: true },
      );
      assert.deepEqual(full.payload, payload);
      assert.equal(full.eventId, null);

      const raw = await server.request('POST', `/api/v1/app/${app.id}/msg`, {
        body: { eventType: 'user.signup', payload: { a: 1 } },
      });
      assert.equal(raw.status, 202);
      assert.deepEqual(raw.json.payload, { a: 1 }, 'with_content defaults to true');
      assert.match(raw.json.timestamp, /Z$/);

      const byId = await svix.message.get(app.id, created.id, { withContent: true });
      assert.deepEqual(byId.payload, payload);
      assert.equal(byId.timestamp.getTime(), created.timestamp.getTime());
      const byEventId = await svix.message.get(app.id, 'evt-1', { withContent: true });
      assert.equal(byEventId.id, created.id);
      assert.deepEqual((await svix.message.get(app.id, 'evt-1')).payload, {});
      const rawGet = await server.request('GET', `/api/v1/app/${app.id}/msg/${created.id}`);
      assert.deepEqual(rawGet.json.payload, payload);

      const stored = await server.sb.ctx.db.get<{ payload: string }>(
        'SELECT payload FROM messages WHERE id = ?',
        [created.id],
      );
      assert.equal(stored?.payload, JSON.stringify(payload), 'the body to deliver, as JSON text');
      const tagged = await svix.message.list(app.id, { tag: 't1' });
      assert.deepEqual(
        tagged.data.map((m) => m.id),
        [created.id],
      );

      await assert.rejects(svix.message.get(app.id, 'msg_doesnotexist'), rejectsWith(404));
      await assert.rejects(svix.message.get(app.id, 'nope'), rejectsWith(404));
      await assert.rejects(
        svix.message.create('app_doesnotexist', { eventType: 'x', payload: {} }),
        rejectsWith(404, 'not_found'),
      );
    });

    it('refuses a duplicate eventId with 409, per application', async () => {
      const { svix } = server;
      const a = await svix.application.create({ name: 'A' });
      const b = await svix.application.create({ name: 'B' });
      await svix.message.create(a.id, { eventType: 'x', payload: {}, eventId: 'same' });
      await assert.rejects(
        svix.message.create(a.id, { eventType: 'x', payload: {}, eventId: 'same' }),
        rejectsWith(409, 'conflict'),
      );
      await svix.message.create(b.id, { eventType: 'x', payload: {}, eventId: 'same' });
      const listed = await svix.message.list(a.id);
      assert.equal(listed.data.length, 1, 'the refused message was not stored');
    });

    it('lists newest first with filters, time bounds and pagination both ways', async () => {
      const { svix } = server;
      const app = await svix.application.create({ name: 'List' });
      const types = ['a.one', 'b.two', 'c.three'];
      const made: { id: string; timestamp: Date }[] = [];
      for (let i = 0; i < 7; i++) {
        made.push(
          await svix.message.create(app.id, {
            eventType: types[i % 3],
            payload: { i },
            channels: i % 2 === 0 ? ['even', 'all'] : ['odd_one', 'all'],
          }),
        );
        await sleep(6);
      }
      const ids = made.map((m) => m.id);
      const newestFirst = [...ids].reverse();

      const all = await svix.message.list(app.id);
      assert.deepEqual(
        all.data.map((m) => m.id),
        newestFirst,
      );
      assert.equal(all.done, true);
      assert.deepEqual(all.data[0].payload, {}, 'the SDK lists without content');
      const withContent = await svix.message.list(app.id, { withContent: true, limit: 1 });
      assert.deepEqual(withContent.data[0].payload, { i: 6 });

      const typed = await svix.message.list(app.id, { eventTypes: ['a.one', 'c.three'] });
      assert.deepEqual(
        typed.data.map((m) => m.id),
        [ids[6], ids[5], ids[3], ids[2], ids[0]],
      );
      const repeated = await server.request(
        'GET',
        `/api/v1/app/${app.id}/msg?event_types=a.one&event_types=b.two`,
      );
      assert.deepEqual(
        repeated.json.data.map((m: { id: string }) => m.id),
        [ids[6], ids[4], ids[3], ids[1], ids[0]],
      );

      const even = await svix.message.list(app.id, { channel: 'even' });
      assert.deepEqual(
        even.data.map((m) => m.id),
        [ids[6], ids[4], ids[2], ids[0]],
      );
      const odd = await svix.message.list(app.id, { channel: 'odd_one' });
      assert.equal(odd.data.length, 3);
      const likeWildcard = await svix.message.list(app.id, { channel: 'oddXone' });
      assert.equal(likeWildcard.data.length, 0, '_ in a channel is not a wildcard');
      assert.equal((await svix.message.list(app.id, { channel: 'all' })).data.length, 7);

      const beforeThird = await svix.message.list(app.id, { before: made[3].timestamp });
      assert.deepEqual(
        beforeThird.data.map((m) => m.id),
        [ids[2], ids[1], ids[0]],
      );
      const afterThird = await svix.message.list(app.id, { after: made[3].timestamp });
      assert.deepEqual(
        afterThird.data.map((m) => m.id),
        [ids[6], ids[5], ids[4]],
      );
      const between = await svix.message.list(app.id, {
        after: made[1].timestamp,
        before: made[5].timestamp,
      });
      assert.deepEqual(
        between.data.map((m) => m.id),
        [ids[4], ids[3], ids[2]],
      );
      // `after` alone: the oldest items after it, still newest first; forward with prevIterator.
      const oldest = await svix.message.list(app.id, { after: made[0].timestamp, limit: 2 });
      assert.deepEqual(
        oldest.data.map((m) => m.id),
        [ids[2], ids[1]],
      );
      assert.equal(oldest.done, false);
      const forward = await svix.message.list(app.id, { iterator: oldest.prevIterator, limit: 2 });
      assert.deepEqual(
        forward.data.map((m) => m.id),
        [ids[4], ids[3]],
      );

      const first = await svix.message.list(app.id, { limit: 3 });
      assert.deepEqual(
        first.data.map((m) => m.id),
        newestFirst.slice(0, 3),
      );
      assert.equal(first.done, false);
      assert.equal(first.iterator, ids[4]);
      assert.equal(first.prevIterator, `-${ids[6]}`);
      const second = await svix.message.list(app.id, { limit: 3, iterator: first.iterator });
      assert.deepEqual(
        second.data.map((m) => m.id),
        newestFirst.slice(3, 6),
      );
      assert.equal(second.done, false);
      const third = await svix.message.list(app.id, { limit: 3, iterator: second.iterator });
      assert.deepEqual(
        third.data.map((m) => m.id),
        newestFirst.slice(6),
      );
      assert.equal(third.done, true);
      const back = await svix.message.list(app.id, { limit: 3, iterator: third.prevIterator });
      assert.deepEqual(
        back.data.map((m) => m.id),
        newestFirst.slice(3, 6),
      );
      const backAgain = await svix.message.list(app.id, { limit: 3, iterator: back.prevIterator });
      assert.deepEqual(
        backAgain.data.map((m) => m.id),
        newestFirst.slice(0, 3),
      );
      assert.equal(backAgain.done, true);

      const empty = await svix.message.list(app.id, { channel: 'nobody' });
      assert.deepEqual(empty.data, []);
      assert.equal(empty.iterator, null);
      assert.equal(empty.done, true);

      const badIterator = await server.request(
        'GET',
        `/api/v1/app/${app.id}/msg?iterator=ep_1srOrx2ZWZBpBUvZwXKQmoEYga2`,
      );
      assert.equal(badIterator.status, 422);
      assert.deepEqual(badIterator.json.detail[0].loc, ['query', 'iterator']);
      const tooMany = await server.request('GET', `/api/v1/app/${app.id}/msg?limit=251`);
      assert.equal(tooMany.status, 422);
      const badDate = await server.request('GET', `/api/v1/app/${app.id}/msg?before=yesterday`);
      assert.equal(badDate.status, 422);
    });

    it('writes exactly one delivery per matching endpoint, in the same commit', async () => {
      const { svix } = server;
      const app = await svix.application.create({ name: 'Fanout' });
      const everything = await addEndpoint(server, app.id);
      const signups = await addEndpoint(server, app.id, { eventTypes: ['user.signup'] });
      const others = await addEndpoint(server, app.id, { eventTypes: ['other.thing'] });
      const c1 = await addEndpoint(server, app.id, { channels: ['c1'] });
      const c2 = await addEndpoint(server, app.id, { channels: ['c2', 'c3'] });
      await addEndpoint(server, app.id, { disabled: true });

      const started = Date.now();
      const m1 = await svix.message.create(app.id, {
        eventType: 'user.signup',
        payload: {},
        channels: ['c1'],
      });
      const rows = await deliveriesOf(server, m1.id);
      assert.deepEqual(
        rows.map((r) => r.endpoint_id),
        [everything, signups, c1].sort(),
      );
      for (const row of rows) {
        assert.match(row.id, /^msgep_/);
        assert.equal(row.app_id, app.id);
        assert.equal(row.status, 1, 'pending');
        assert.equal(row.trigger_type, 0, 'scheduled');
        assert.equal(row.attempt_count, 0);
        assert.ok(
          Number(row.next_attempt_at) >= started && Number(row.next_attempt_at) <= Date.now(),
          'due now',
        );
      }

      const m2 = await svix.message.create(app.id, { eventType: 'user.signup', payload: {} });
      assert.deepEqual(
        (await deliveriesOf(server, m2.id)).map((r) => r.endpoint_id),
        [everything, signups].sort(),
        'a message without channels skips endpoints that have channels',
      );

      const m3 = await svix.message.create(app.id, {
        eventType: 'other.thing',
        payload: {},
        channels: ['c3', 'c9'],
      });
      assert.deepEqual(
        (await deliveriesOf(server, m3.id)).map((r) => r.endpoint_id),
        [everything, others, c2].sort(),
      );

      const deliverAt = new Date(Date.now() + 10 * 60_000);
      const later = await svix.message.create(app.id, {
        eventType: 'nothing.listens',
        payload: {},
        deliverAt,
      });
      const scheduled = await deliveriesOf(server, later.id);
      assert.equal(scheduled.length, 1, 'only the catch-all endpoint');
      assert.equal(Number(scheduled[0].next_attempt_at), deliverAt.getTime());
      assert.equal(later.deliverAt?.getTime(), deliverAt.getTime());

      const lonely = await svix.application.create({ name: 'No endpoints' });
      const m4 = await svix.message.create(lonely.id, { eventType: 'user.signup', payload: {} });
      assert.equal((await deliveriesOf(server, m4.id)).length, 0);
      assert.equal((await svix.message.get(lonely.id, m4.id)).id, m4.id, 'the message is stored');
    });

    it('writes nothing when a create is refused', async () => {
      const { svix } = server;
      const app = await svix.application.create({ name: 'Refused' });
      await addEndpoint(server, app.id);
      const before = {
        messages: await count(server, 'messages'),
        deliveries: await count(server, 'deliveries'),
        applications: await count(server, 'applications'),
      };
      const path = `/api/v1/app/${app.id}/msg`;
      const cases: [string, string, unknown, number, string?][] = [
        [
          'array payload',
          path,
          { eventType: 'x', payload: [1] },
          422,
          'Payload must be an object.',
        ],
        [
          'string payload',
          path,
          { eventType: 'x', payload: 'hi' },
          422,
          'Payload must be an object.',
        ],
        [
          'null payload',
          path,
          { eventType: 'x', payload: null },
          422,
          'Payload must be an object.',
        ],
        ['missing payload', path, { eventType: 'x' }, 422],
        ['missing eventType', path, { payload: {} }, 422],
        ['bad eventType', path, { eventType: 'has space', payload: {} }, 422],
        ['eventId with msg_', path, { eventType: 'x', payload: {}, eventId: 'msg_1' }, 422],
        ['duplicate channels', path, { eventType: 'x', payload: {}, channels: ['a', 'a'] }, 422],
        [
          'eleven channels',
          path,
          { eventType: 'x', payload: {}, channels: Array.from({ length: 11 }, (_, i) => `c${i}`) },
          422,
        ],
        [
          'both retentions',
          path,
          { eventType: 'x', payload: {}, payloadRetentionPeriod: 5, payloadRetentionHours: 5 },
          422,
        ],
        [
          'rawPayload not a string',
          path,
          { eventType: 'x', payload: {}, transformationsParams: { rawPayload: 1 } },
          422,
        ],
        ['unknown app', '/api/v1/app/ghost/msg', { eventType: 'x', payload: {} }, 404],
        [
          'implicit app without uid',
          '/api/v1/app/ghost/msg',
          { eventType: 'x', payload: {}, application: { name: 'Ghost' } },
          422,
          'Application UID not set in body',
        ],
        [
          'implicit app with another uid',
          '/api/v1/app/ghost/msg',
          { eventType: 'x', payload: {}, application: { name: 'Ghost', uid: 'other' } },
          422,
          'Application UID in the path and body must match',
        ],
      ];
      for (const [label, url, body, status, msg] of cases) {
        const response = await server.request('POST', url, { body });
        assert.equal(response.status, status, `${label}: ${response.text}`);
        if (status === 422) assert.equal(response.json.detail[0].loc[0], 'body', label);
        if (msg) assert.equal(response.json.detail[0].msg, msg, label);
      }
      const missing = await server.request('POST', '/api/v1/app/ghost/msg', {
        body: { eventType: 'x', payload: {}, application: { name: 'Ghost' } },
      });
      assert.deepEqual(missing.json.detail[0], {
        loc: ['body', 'application', 'uid'],
        msg: 'Application UID not set in body',
        type: 'application_uid_missing',
      });
      const mismatch = await server.request('POST', '/api/v1/app/ghost/msg', {
        body: { eventType: 'x', payload: {}, application: { name: 'Ghost', uid: 'other' } },
      });
      assert.equal(mismatch.json.detail[0].type, 'application_uid_mismatch');
      assert.deepEqual(mismatch.json.detail[0].loc, ['body', 'application', 'uid']);
      await assert.rejects(
        svix.message.create(app.id, { eventType: 'x', payload: [1, 2] }),
        rejectsWith(422),
      );
      assert.deepEqual(
        {
          messages: await count(server, 'messages'),
          deliveries: await count(server, 'deliveries'),
          applications: await count(server, 'applications'),
        },
        before,
      );
    });

    it('creates the application with the message when asked to', async () => {
      const { svix } = server;
      const created = await svix.message.create(
        'auto-app',
        {
          eventType: 'x',
          payload: { n: 1 },
          application: { name: 'Auto', uid: 'auto-app', metadata: { k: 'v' } },
        },
        { withContent: true },
      );
      assert.deepEqual(created.payload, { n: 1 });
      const app = await svix.application.get('auto-app');
      assert.equal(app.name, 'Auto');
      assert.deepEqual(app.metadata, { k: 'v' });
      const again = await svix.message.create('auto-app', {
        eventType: 'x',
        payload: {},
        application: { name: 'Ignored', uid: 'auto-app' },
      });
      assert.notEqual(again.id, created.id);
      assert.equal((await svix.application.get('auto-app')).name, 'Auto', 'ignored when it exists');
      assert.equal((await svix.message.list('auto-app')).data.length, 2);
      // An existing application also ignores a mismatching `application`.
      const ok = await server.request('POST', '/api/v1/app/auto-app/msg', {
        body: { eventType: 'x', payload: {}, application: { name: 'Other', uid: 'different' } },
      });
      assert.equal(ok.status, 202);
    });

    it('stores a rawPayload verbatim as the body to deliver', async () => {
      const { svix } = server;
      const app = await svix.application.create({ name: 'Raw' });
      const text = '{"b": 1,   "a": [2, 3.50]}';
      const raw = await svix.message.create(
        app.id,
        messageInRaw('raw.event', text, 'application/json'),
      );
      const stored = await server.sb.ctx.db.get<{ payload: string }>(
        'SELECT payload FROM messages WHERE id = ?',
        [raw.id],
      );
      assert.equal(stored?.payload, text);
      const read = await svix.message.get(app.id, raw.id, { withContent: true });
      assert.deepEqual(read.payload, { b: 1, a: [2, 3.5] });

      const plain = await svix.message.create(app.id, messageInRaw('raw.event', 'not json at all'));
      const plainStored = await server.sb.ctx.db.get<{ payload: string }>(
        'SELECT payload FROM messages WHERE id = ?',
        [plain.id],
      );
      assert.equal(plainStored?.payload, 'not json at all');
      assert.equal(
        (await svix.message.get(app.id, plain.id, { withContent: true })).payload,
        'not json at all',
      );
    });

    it('shows an expired payload as {"expired": true}', async () => {
      const { svix } = server;
      const app = await svix.application.create({ name: 'Expiry' });
      const message = await svix.message.create(app.id, {
        eventType: 'x',
        payload: { secret: 1 },
        payloadRetentionHours: 1,
      });
      const row = await server.sb.ctx.db.get<{ created_at: number; payload_expires_at: number }>(
        'SELECT created_at, payload_expires_at FROM messages WHERE id = ?',
        [message.id],
      );
      assert.equal(Number(row?.payload_expires_at) - Number(row?.created_at), 3_600_000);
      await server.sb.ctx.db.run('UPDATE messages SET payload_expires_at = ? WHERE id = ?', [
        Date.now() - 1,
        message.id,
      ]);
      const read = await svix.message.get(app.id, message.id, { withContent: true });
      assert.deepEqual(read.payload, { expired: true });
    });

    it('keeps applications apart: a scoped key sees 404 elsewhere and cannot create', async () => {
      const { svix } = server;
      const a = await svix.application.create({ name: 'Tenant A' });
      const b = await svix.application.create({ name: 'Tenant B' });
      const mb = await svix.message.create(b.id, { eventType: 'x', payload: {}, eventId: 'b-1' });
      const ma = await svix.message.create(a.id, { eventType: 'x', payload: {} });
      const scoped = new Svix(await appScopedToken(server, a.id), { serverUrl: server.url });

      await assert.rejects(scoped.message.list(b.id), rejectsWith(404));
      await assert.rejects(scoped.message.get(b.id, mb.id), rejectsWith(404));
      await assert.rejects(scoped.message.get(b.id, 'b-1'), rejectsWith(404));
      await assert.rejects(
        scoped.message.get(a.id, mb.id),
        rejectsWith(404),
        'not via its own app',
      );
      await assert.rejects(
        scoped.message.create(a.id, { eventType: 'x', payload: {} }),
        rejectsWith(403, 'insufficient access'),
      );
      await assert.rejects(
        scoped.message.create(b.id, { eventType: 'x', payload: {} }),
        rejectsWith(403),
      );
      const own = await scoped.message.list(a.id);
      assert.deepEqual(
        own.data.map((m) => m.id),
        [ma.id],
      );
      assert.equal((await scoped.message.get(a.id, ma.id)).id, ma.id);
    });

    it('handles 200 concurrent creates (group commit) with every delivery written', async () => {
      const { svix } = server;
      const app = await svix.application.create({ name: 'Busy' });
      await addEndpoint(server, app.id);
      await addEndpoint(server, app.id, { eventTypes: ['busy.even'] });
      await addEndpoint(server, app.id, { eventTypes: ['never'] });
      // Open the connections first, so the creates reach the server together.
      await Promise.all(
        Array.from({ length: 200 }, () => server.request('GET', `/api/v1/app/${app.id}`)),
      );
      const db = server.sb.ctx.db;
      const transaction = db.transaction;
      let commits = 0;
      db.transaction = <T>(fn: (tx: Sql) => Promise<T>): Promise<T> => {
        commits++;
        return transaction.call(db, fn) as Promise<T>;
      };
      const responses = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          server.request('POST', `/api/v1/app/${app.id}/msg?with_content=false`, {
            body: {
              eventType: i % 2 === 0 ? 'busy.even' : 'busy.odd',
              payload: { i },
              eventId: `busy-${i}`,
            },
          }),
        ),
      );
      db.transaction = transaction;
      for (const response of responses) assert.equal(response.status, 202, response.text);
      assert.ok(commits < 200, `creates shared commits (${commits} for 200)`);
      assert.equal(new Set(responses.map((r) => r.json.id)).size, 200);
      const messages = await server.sb.ctx.db.get<{ n: number }>(
        'SELECT COUNT(*) AS n FROM messages WHERE app_id = ?',
        [app.id],
      );
      assert.equal(Number(messages?.n), 200);
      const deliveries = await server.sb.ctx.db.get<{ n: number }>(
        'SELECT COUNT(*) AS n FROM deliveries WHERE app_id = ?',
        [app.id],
      );
      assert.equal(Number(deliveries?.n), 300, 'every message to the catch-all, even ones twice');
      const page = await svix.message.list(app.id, { limit: 250 });
      assert.equal(page.data.length, 200);
    });
  });
}
