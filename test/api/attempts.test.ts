import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Svix } from 'svix';
import {
  type AppId,
  type AttemptId,
  type DeliveryId,
  type EndpointId,
  type MessageId,
  newId,
} from '../../src/core/ids.js';
import { type AttemptRecord, insertAttempt } from '../../src/store/attempts.js';
import {
  claimDueDeliveries,
  findDelivery,
  type MessageStatus,
  updateDelivery,
} from '../../src/store/deliveries.js';
import { backends } from '../helpers/backends.js';
import { addEndpoint, appScopedToken, rejectsWith } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface DeliveryRow {
  id: string;
  endpoint_id: string;
  status: number;
  trigger_type: number;
  next_attempt_at: number | null;
}

function deliveriesOf(server: TestServer, msgId: string): Promise<DeliveryRow[]> {
  return server.sb.ctx.db.all<DeliveryRow>(
    'SELECT id, endpoint_id, status, trigger_type, next_attempt_at FROM deliveries WHERE msg_id = ? ORDER BY id',
    [msgId],
  );
}

for (const backend of await backends()) {
  describe(`message attempts (${backend})`, () => {
    let server: TestServer;
    let svix: Svix;
    let appId: string;
    let ep1: string;
    let ep2: string;
    let disabled: string;
    let m1: string;
    let m2: string;
    /** Attempts in creation order: a1..a4. */
    const made: AttemptRecord[] = [];

    /** Writes an attempt the way the delivery engine does: through the store. */
    async function attempt(
      msgId: string,
      endpointId: string,
      status: MessageStatus,
      code: number,
      response: string,
    ): Promise<AttemptRecord> {
      // Ids are time-sortable and the listings' time windows rely on it: write them now.
      await sleep(5);
      const clock = Date.now();
      const record: AttemptRecord = {
        id: newId('attempt', clock) as AttemptId,
        msgId: msgId as MessageId,
        endpointId: endpointId as EndpointId,
        appId: appId as AppId,
        deliveryId: null,
        url: 'https://example.com/hook',
        response,
        responseStatusCode: code,
        responseDurationMs: 42,
        status,
        triggerType: 0,
        error: null,
        createdAt: clock,
      };
      await insertAttempt(server.sb.ctx.db, record);
      made.push(record);
      return record;
    }

    before(async () => {
      // API role: no delivery worker, so the attempt log holds exactly the rows these tests write
      // through the engine's own store functions.
      server = await startTestServer(backend, { SWITCHBOARD_ROLE: 'api' });
      svix = server.svix;
      appId = (await svix.application.create({ name: 'Attempts' })).id;
      ep1 = await addEndpoint(server, appId, { uid: 'ep-one' });
      ep2 = await addEndpoint(server, appId);
      disabled = await addEndpoint(server, appId, { eventTypes: ['nobody'], disabled: true });
      m1 = (
        await svix.message.create(appId, {
          eventType: 'order.created',
          payload: { n: 1 },
          channels: ['shop_1'],
          eventId: 'order-1',
        })
      ).id;
      m2 = (await svix.message.create(appId, { eventType: 'order.paid', payload: { n: 2 } })).id;
      await attempt(m1, ep1, 2, 500, 'boom');
      await attempt(m1, ep1, 0, 200, '{"ok":true}');
      await attempt(m1, ep2, 2, 0, 'connect ECONNREFUSED');
      await attempt(m2, ep1, 0, 204, '');
    });
    after(() => server.close());

    it('lists attempts by endpoint, newest first, with filters', async () => {
      const [a1, a2, , a4] = made;
      const all = await svix.messageAttempt.listByEndpoint(appId, ep1);
      assert.deepEqual(
        all.data.map((a) => a.id),
        [a4.id, a2.id, a1.id],
      );
      const first = all.data[2];
      assert.equal(first.msgId, m1);
      assert.equal(first.endpointId, ep1);
      assert.equal(first.url, 'https://example.com/hook');
      assert.equal(first.response, '{}', 'the SDK lists without content');
      assert.equal(first.responseStatusCode, 500);
      assert.equal(first.responseDurationMs, 42);
      assert.equal(first.status, 2);
      assert.equal(first.statusText, 'fail');
      assert.equal(first.triggerType, 0);
      assert.equal(first.timestamp.getTime(), a1.createdAt);
      assert.equal(all.data[1].statusText, 'success');

      const byUid = await svix.messageAttempt.listByEndpoint(appId, 'ep-one', {
        withContent: true,
      });
      assert.deepEqual(
        byUid.data.map((a) => a.response),
        ['', '{"ok":true}', 'boom'],
      );
      const raw = await server.request('GET', `/api/v1/app/${appId}/attempt/endpoint/${ep1}`);
      assert.equal(raw.json.data[2].response, 'boom', 'with_content defaults to true');

      const failed = await svix.messageAttempt.listByEndpoint(appId, ep1, { status: 2 });
      assert.deepEqual(
        failed.data.map((a) => a.id),
        [a1.id],
      );
      const ok = await svix.messageAttempt.listByEndpoint(appId, ep1, { status: 0 });
      assert.deepEqual(
        ok.data.map((a) => a.id),
        [a4.id, a2.id],
      );
      const fiveHundreds = await svix.messageAttempt.listByEndpoint(appId, ep1, {
        statusCodeClass: 500,
      });
      assert.deepEqual(
        fiveHundreds.data.map((a) => a.id),
        [a1.id],
      );
      const twoHundreds = await svix.messageAttempt.listByEndpoint(appId, ep1, {
        statusCodeClass: 200,
      });
      assert.equal(twoHundreds.data.length, 2);
      const none = await svix.messageAttempt.listByEndpoint(appId, ep2, { statusCodeClass: 0 });
      assert.equal(none.data.length, 1, 'code 0: no response');
      const paid = await svix.messageAttempt.listByEndpoint(appId, ep1, {
        eventTypes: ['order.paid'],
      });
      assert.deepEqual(
        paid.data.map((a) => a.id),
        [a4.id],
      );
      const shop = await svix.messageAttempt.listByEndpoint(appId, ep1, { channel: 'shop_1' });
      assert.deepEqual(
        shop.data.map((a) => a.id),
        [a2.id, a1.id],
      );
      const withMsg = await svix.messageAttempt.listByEndpoint(appId, ep1, { withMsg: true });
      assert.equal(withMsg.data[0].msg?.id, m2);
      assert.equal(withMsg.data[0].msg?.eventType, 'order.paid');
      assert.deepEqual(withMsg.data[0].msg?.payload, {}, 'never with payload');

      const page = await svix.messageAttempt.listByEndpoint(appId, ep1, { limit: 2 });
      assert.equal(page.done, false);
      const next = await svix.messageAttempt.listByEndpoint(appId, ep1, {
        limit: 2,
        iterator: page.iterator,
      });
      assert.deepEqual(
        next.data.map((a) => a.id),
        [a1.id],
      );
      assert.equal(next.done, true);
      const back = await svix.messageAttempt.listByEndpoint(appId, ep1, {
        limit: 2,
        iterator: next.prevIterator,
      });
      assert.deepEqual(
        back.data.map((a) => a.id),
        [a4.id, a2.id],
      );
      const windowed = await svix.messageAttempt.listByEndpoint(appId, ep1, {
        after: new Date(a1.createdAt),
        before: new Date(a4.createdAt),
      });
      assert.deepEqual(
        windowed.data.map((a) => a.id),
        [a2.id],
      );

      await assert.rejects(
        svix.messageAttempt.listByEndpoint(appId, 'ep_doesnotexist'),
        rejectsWith(404),
      );
      const badClass = await server.request(
        'GET',
        `/api/v1/app/${appId}/attempt/endpoint/${ep1}?status_code_class=250`,
      );
      assert.equal(badClass.status, 422);
    });

    it('lists attempts by message, optionally for one endpoint', async () => {
      const [a1, a2, a3] = made;
      const all = await svix.messageAttempt.listByMsg(appId, m1);
      assert.deepEqual(
        all.data.map((a) => a.id),
        [a3.id, a2.id, a1.id],
      );
      const byEventId = await svix.messageAttempt.listByMsg(appId, 'order-1');
      assert.equal(byEventId.data.length, 3);
      const one = await svix.messageAttempt.listByMsg(appId, m1, { endpointId: ep2 });
      assert.deepEqual(
        one.data.map((a) => a.id),
        [a3.id],
      );
      const byUid = await svix.messageAttempt.listByMsg(appId, m1, { endpointId: 'ep-one' });
      assert.deepEqual(
        byUid.data.map((a) => a.id),
        [a2.id, a1.id],
      );
      const failed = await svix.messageAttempt.listByMsg(appId, m1, { status: 2 });
      assert.deepEqual(
        failed.data.map((a) => a.id),
        [a3.id, a1.id],
      );
      const codes = await svix.messageAttempt.listByMsg(appId, m1, { statusCodeClass: 200 });
      assert.deepEqual(
        codes.data.map((a) => a.id),
        [a2.id],
      );
      const otherType = await svix.messageAttempt.listByMsg(appId, m1, {
        eventTypes: ['order.paid'],
      });
      assert.equal(otherType.data.length, 0);
      await assert.rejects(
        svix.messageAttempt.listByMsg(appId, m1, { endpointId: 'ep-unknown' }),
        rejectsWith(404),
      );
      await assert.rejects(svix.messageAttempt.listByMsg(appId, 'msg_nope'), rejectsWith(404));
    });

    it('gets one attempt of a message, and 404 for another message', async () => {
      const [a1, , , a4] = made;
      const got = await svix.messageAttempt.get(appId, m1, a1.id);
      assert.equal(got.id, a1.id);
      assert.equal(got.response, 'boom');
      assert.equal(got.statusText, 'fail');
      assert.equal((await svix.messageAttempt.get(appId, 'order-1', a1.id)).id, a1.id);
      await assert.rejects(svix.messageAttempt.get(appId, m1, a4.id), rejectsWith(404));
      await assert.rejects(svix.messageAttempt.get(appId, m2, a1.id), rejectsWith(404));
      await assert.rejects(
        svix.messageAttempt.get(appId, m1, 'atmpt_1srOrx2ZWZBpBUvZwXKQmoEYga2'),
        rejectsWith(404),
      );
    });

    it('lists attempted destinations with the state of their delivery', async () => {
      const list = await svix.messageAttempt.listAttemptedDestinations(appId, m1);
      assert.deepEqual(
        list.data.map((e) => e.id),
        [ep1, ep2].sort(),
      );
      for (const destination of list.data) {
        assert.equal(destination.status, 1);
        assert.equal(destination.statusText, 'pending');
        assert.ok(destination.nextAttempt instanceof Date);
        assert.equal(destination.url, 'https://example.com/hook');
        assert.ok(destination.createdAt instanceof Date);
      }
      assert.equal(list.data.find((e) => e.id === ep1)?.uid, 'ep-one');

      // The engine's path: lease the due deliveries, record the outcome.
      const db = server.sb.ctx.db;
      const now = Date.now();
      const claimed = await claimDueDeliveries(db, {
        now,
        limit: 100,
        leaseMs: 30_000,
        worker: 'test-worker',
      });
      const mine = claimed.filter((d) => d.msgId === m1);
      assert.equal(mine.length, 2);
      assert.ok(mine.every((d) => d.leasedBy === 'test-worker' && d.leaseUntil === now + 30_000));
      const again = await claimDueDeliveries(db, {
        now,
        limit: 100,
        leaseMs: 30_000,
        worker: 'w2',
      });
      assert.equal(again.filter((d) => d.msgId === m1).length, 0, 'leased rows are not due');
      const toEp1 = mine.find((d) => d.endpointId === ep1);
      const toEp2 = mine.find((d) => d.endpointId === ep2);
      assert.ok(toEp1 && toEp2);
      assert.equal(
        await updateDelivery(
          db,
          toEp1.id,
          { status: 0, attemptCount: 2, nextAttemptAt: null, now },
          'w2',
        ),
        false,
        'only the lease holder may record',
      );
      assert.ok(
        await updateDelivery(
          db,
          toEp1.id,
          { status: 0, attemptCount: 2, nextAttemptAt: null, now },
          'test-worker',
        ),
      );
      const retryAt = now + 60_000;
      await updateDelivery(db, toEp2.id, {
        status: 3,
        attemptCount: 1,
        nextAttemptAt: retryAt,
        now,
      });
      const updated = await findDelivery(db, toEp2.id as DeliveryId);
      assert.equal(updated?.leaseUntil, null);
      assert.equal(updated?.nextAttemptAt, retryAt);

      const after = await svix.messageAttempt.listAttemptedDestinations(appId, m1);
      const one = after.data.find((e) => e.id === ep1);
      const two = after.data.find((e) => e.id === ep2);
      assert.equal(one?.status, 0);
      assert.equal(one?.statusText, 'success');
      assert.equal(one?.nextAttempt, null);
      assert.equal(two?.status, 3);
      assert.equal(two?.statusText, 'sending');
      assert.equal(two?.nextAttempt?.getTime(), retryAt);

      const paged = await svix.messageAttempt.listAttemptedDestinations(appId, m1, { limit: 1 });
      assert.equal(paged.data.length, 1);
      assert.equal(paged.done, false);
      const rest = await svix.messageAttempt.listAttemptedDestinations(appId, m1, {
        limit: 1,
        iterator: paged.iterator,
      });
      assert.equal(rest.data[0].id, [ep1, ep2].sort()[1]);
      assert.equal(rest.done, true);
      await assert.rejects(
        svix.messageAttempt.listAttemptedDestinations(appId, 'msg_nope'),
        rejectsWith(404),
      );
    });

    it('lists attempted messages of an endpoint with their status', async () => {
      const list = await svix.messageAttempt.listAttemptedMessages(appId, ep1);
      assert.deepEqual(
        list.data.map((m) => m.id),
        [m2, m1],
      );
      const first = list.data[1];
      assert.equal(first.eventType, 'order.created');
      assert.deepEqual(first.payload, {}, 'the SDK asks without content');
      assert.deepEqual(first.channels, ['shop_1']);
      assert.ok(first.timestamp instanceof Date);
      const full = await svix.messageAttempt.listAttemptedMessages(appId, 'ep-one', {
        withContent: true,
      });
      assert.deepEqual(full.data[1].payload, { n: 1 });
      const success = await svix.messageAttempt.listAttemptedMessages(appId, ep1, { status: 0 });
      assert.deepEqual(
        success.data.map((m) => m.id),
        [m1],
        'm1 was delivered (previous test); m2 is still pending',
      );
      assert.equal(success.data[0].statusText, 'success');
      const pending = await svix.messageAttempt.listAttemptedMessages(appId, ep1, { status: 1 });
      assert.deepEqual(
        pending.data.map((m) => m.id),
        [m2],
      );
      assert.ok(pending.data[0].nextAttempt instanceof Date);
      const typed = await svix.messageAttempt.listAttemptedMessages(appId, ep1, {
        eventTypes: ['order.paid'],
        channel: undefined,
      });
      assert.deepEqual(
        typed.data.map((m) => m.id),
        [m2],
      );
      const channel = await svix.messageAttempt.listAttemptedMessages(appId, ep1, {
        channel: 'shop_1',
      });
      assert.deepEqual(
        channel.data.map((m) => m.id),
        [m1],
      );
      await assert.rejects(
        svix.messageAttempt.listAttemptedMessages(appId, 'nope'),
        rejectsWith(404),
      );
    });

    it('resends a message as a new manual delivery', async () => {
      const before = await deliveriesOf(server, m1);
      const started = Date.now();
      const raw = await server.request(
        'POST',
        `/api/v1/app/${appId}/msg/${m1}/endpoint/${ep1}/resend`,
      );
      assert.equal(raw.status, 202);
      assert.deepEqual(raw.json, {});
      const resent = await svix.messageAttempt.resend(appId, 'order-1', 'ep-one');
      assert.deepEqual(resent, {});
      const rows = await deliveriesOf(server, m1);
      const added = rows.slice(before.length);
      assert.equal(added.length, 2);
      for (const row of added) {
        assert.equal(row.endpoint_id, ep1);
        assert.equal(row.trigger_type, 1, 'manual');
        assert.equal(row.status, 1);
        assert.ok(
          Number(row.next_attempt_at) >= started && Number(row.next_attempt_at) <= Date.now(),
        );
      }
      const destinations = await svix.messageAttempt.listAttemptedDestinations(appId, m1);
      assert.equal(
        destinations.data.find((e) => e.id === ep1)?.statusText,
        'pending',
        'the latest delivery row counts',
      );

      // A disabled endpoint is skipped silently; it bypasses no 404s.
      const count = rows.length;
      await svix.messageAttempt.resend(appId, m1, disabled);
      assert.equal((await deliveriesOf(server, m1)).length, count);
      await assert.rejects(svix.messageAttempt.resend(appId, 'msg_nope', ep1), rejectsWith(404));
      await assert.rejects(svix.messageAttempt.resend(appId, m1, 'ep_nope'), rejectsWith(404));

      // Once the payload is gone there is nothing to resend.
      await server.sb.ctx.db.run('UPDATE messages SET payload_expires_at = ? WHERE id = ?', [
        Date.now() - 1,
        m2,
      ]);
      await assert.rejects(
        svix.messageAttempt.resend(appId, m2, ep1),
        rejectsWith(400, 'missing_payload'),
      );
      await server.sb.ctx.db.run('UPDATE messages SET payload = NULL WHERE id = ?', [m2]);
      await assert.rejects(
        svix.messageAttempt.resend(appId, m2, ep1),
        rejectsWith(400, 'missing_payload'),
      );
    });

    it('keeps applications apart: a key for another app gets 404', async () => {
      const other = await svix.application.create({ name: 'Other tenant' });
      const scoped = new Svix(await appScopedToken(server, other.id), { serverUrl: server.url });
      const [a1] = made;
      await assert.rejects(scoped.messageAttempt.listByEndpoint(appId, ep1), rejectsWith(404));
      await assert.rejects(scoped.messageAttempt.listByMsg(appId, m1), rejectsWith(404));
      await assert.rejects(scoped.messageAttempt.get(appId, m1, a1.id), rejectsWith(404));
      await assert.rejects(
        scoped.messageAttempt.listAttemptedDestinations(appId, m1),
        rejectsWith(404),
      );
      await assert.rejects(
        scoped.messageAttempt.listAttemptedMessages(appId, ep1),
        rejectsWith(404),
      );
      await assert.rejects(scoped.messageAttempt.resend(appId, m1, ep1), rejectsWith(404));
      // Its own application is visible, and another app's ids don't leak through it.
      await assert.rejects(scoped.messageAttempt.listByMsg(other.id, m1), rejectsWith(404));
      await assert.rejects(scoped.messageAttempt.listByEndpoint(other.id, ep1), rejectsWith(404));
      const own = await new Svix(await appScopedToken(server, appId), {
        serverUrl: server.url,
      }).messageAttempt.listByEndpoint(appId, ep1);
      assert.equal(own.data.length, 3);
    });
  });
}
