import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sign } from '@octokit/webhooks-methods';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { Webhook } from 'standardwebhooks';
import type { EndpointId, MessageId } from '../../src/core/ids.js';
import { AppTransport, forwardedEventId } from '../../src/outbound/transports/app.js';
import { NatsTransport } from '../../src/outbound/transports/nats.js';
import { MessageStatus } from '../../src/store/deliveries.js';
import { loadDeliveryTarget } from '../../src/store/endpoint-health.js';
import { getMessageById } from '../../src/store/messages.js';
import { backends } from '../helpers/backends.js';
import { type Hook, startHook } from '../helpers/hook.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

// Inbound events routed to NATS JetStream, email and applications: real parts only (the NATS
// server at 127.0.0.1:4222, an SMTP server, an HTTP stand-in for Postmark, Switchboard's own
// applications), with a short retry schedule for the retry and dead-letter cases.

const GITHUB_SECRET = 'It is a secret to everybody';
const NATS_URL = process.env.SWITCHBOARD_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const SCHEDULE = '0,0.2,0.2'; // three attempts, 200 ms apart (± jitter)
const JSON_TYPE = { 'content-type': 'application/json' };

/** undefined when NATS answers; with CI=true it is required, like PostgreSQL. */
async function probeNats(): Promise<string | undefined> {
  try {
    const nc = await connect({ servers: NATS_URL, timeout: 2000, reconnect: false });
    await nc.close();
    return undefined;
  } catch (error) {
    const reason = `NATS not reachable at ${NATS_URL}: ${(error as Error).message}`;
    if (process.env.CI === 'true') throw new Error(`CI=true requires NATS. ${reason}`);
    console.log(`# skipping NATS tests: ${reason}`);
    return reason;
  }
}
const natsSkip = await probeNats();

interface Mail {
  from: string;
  to: string[];
  raw: string;
}

/**
 * A local SMTP server. Recipients starting with `greylist` get 451 on their first try, those
 * starting with `nobody` get 550; everything else is accepted and kept.
 */
async function startSmtp(): Promise<{ server: SMTPServer; port: number; mails: Mail[] }> {
  const mails: Mail[] = [];
  const greylisted = new Set<string>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const rcpt = address.address;
      if (rcpt.startsWith('greylist') && !greylisted.has(rcpt)) {
        greylisted.add(rcpt);
        return callback(
          Object.assign(new Error('4.7.1 Greylisted, try again later'), { responseCode: 451 }),
        );
      }
      if (rcpt.startsWith('nobody')) {
        return callback(Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 }));
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks).toString('utf8').replace(/\r\n/g, '\n'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = (server as unknown as { server: Server }).server.address() as AddressInfo;
  return { server, port, mails };
}

interface AttemptRow {
  msg_id: string;
  response: string;
  response_status_code: number;
  status: number;
  error: string | null;
}

/** Helpers bound to one Switchboard server. */
function harness(server: () => TestServer) {
  let deliveryCounter = 0;
  const db = () => server().sb.ctx.db;
  return {
    async githubSource(): Promise<{ id: string; path: string }> {
      const response = await server().request('POST', '/ingest/api/v1/source', {
        body: { name: 'github', type: 'github', config: { secret: GITHUB_SECRET } },
      });
      assert.equal(response.status, 201, response.text);
      return { id: response.json.id, path: new URL(response.json.ingestUrl).pathname };
    },
    async endpoint(sourceId: string, url: string, headers?: Record<string, string>) {
      const response = await server().request(
        'POST',
        `/ingest/api/v1/source/${sourceId}/endpoint`,
        { body: { url, ...(headers ? { headers } : {}) } },
      );
      assert.equal(response.status, 201, response.text);
      assert.equal(response.json.url, url);
      return response.json.id as EndpointId;
    },
    /** POSTs a signed GitHub push; resolves to the GitHub delivery id used. */
    async send(path: string, payload: string): Promise<string> {
      const delivery = `delivery-${process.pid}-${++deliveryCounter}-${randomBytes(4).toString('hex')}`;
      const answer = await server().request('POST', path, {
        rawBody: payload,
        token: null,
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': delivery,
          'x-hub-signature-256': await sign(GITHUB_SECRET, payload),
        },
      });
      assert.equal(answer.status, 200, answer.text);
      return delivery;
    },
    event(sourceId: string, delivery: string) {
      return db().get<{ id: string; status: string; error: string | null }>(
        'SELECT id, status, error FROM inbound_events WHERE source_id = ? AND provider_event_id = ?',
        [sourceId, delivery],
      );
    },
    attempts(endpointId: string) {
      return db().all<AttemptRow>(
        'SELECT msg_id, response, response_status_code, status, error FROM attempts WHERE endpoint_id = ? ORDER BY id',
        [endpointId],
      );
    },
    /** Resolves once the endpoint's delivery has ended (success or given up). */
    async finished(endpointId: string): Promise<{ status: number; attempt_count: number }> {
      return waitFor(`the delivery to ${endpointId} to end`, async () => {
        const row = await db().get<{ status: number; attempt_count: number; next: number | null }>(
          'SELECT status, attempt_count, next_attempt_at AS next FROM deliveries WHERE endpoint_id = ?',
          [endpointId],
        );
        return row && row.next === null ? row : undefined;
      });
    },
  };
}

const GITHUB_PUSH = JSON.stringify({
  ref: 'refs/heads/main',
  pusher: { name: 'octo', email: 'dev@example.com' },
  repository: { name: 'switchboard' },
  note: 'exact  bytes ✓',
});

for (const backend of await backends()) {
  describe(`inbound destinations: NATS, SMTP, applications (${backend})`, () => {
    let server: TestServer;
    let smtp: Awaited<ReturnType<typeof startSmtp>>;
    let hook: Hook;
    let nc: NatsConnection | undefined;
    let jsm: JetStreamManager | undefined;
    const streams: string[] = [];
    const h = harness(() => server);

    before(async () => {
      smtp = await startSmtp();
      hook = await startHook();
      server = await startTestServer(backend, {
        SWITCHBOARD_RETRY_SCHEDULE: SCHEDULE,
        NATS_URL,
        SWITCHBOARD_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
        SWITCHBOARD_EMAIL_FROM: 'Switchboard <hooks@example.com>',
      });
      if (!natsSkip) {
        nc = await connect({ servers: NATS_URL });
        jsm = await nc.jetstreamManager();
      }
    });
    after(async () => {
      for (const name of streams) await jsm?.streams.delete(name).catch(() => {});
      await nc?.close();
      await server.close();
      await new Promise<void>((resolve) => smtp.server.close(() => resolve()));
      hook.server.close();
    });

    /** A new stream capturing `prefix.>`; deleted after the suite. */
    async function stream(): Promise<{ name: string; prefix: string }> {
      const tag = randomBytes(5).toString('hex');
      const name = `SB_TEST_${tag.toUpperCase()}`;
      const prefix = `sbtest.${tag}`;
      await jsm?.streams.add({ name, subjects: [`${prefix}.>`], duplicate_window: 60_000_000_000 });
      streams.push(name);
      return { name, prefix };
    }

    it('publishes to JetStream: exact bytes, Nats-Msg-Id = inbound event id, correlation headers', {
      skip: natsSkip,
    }, async () => {
      const { name, prefix } = await stream();
      const source = await h.githubSource();
      const endpointId = await h.endpoint(source.id, `nats:${prefix}.push`, { 'X-Tenant': 'acme' });
      const delivery = await h.send(source.path, GITHUB_PUSH);
      const done = await h.finished(endpointId);
      assert.equal(done.status, MessageStatus.Success);
      const event = await h.event(source.id, delivery);
      assert.ok(event);
      assert.equal(event.status, 'routed');

      const stored = await jsm?.streams.getMessage(name, { seq: 1 });
      assert.ok(stored);
      assert.equal(stored.subject, `${prefix}.push`);
      assert.deepEqual(Buffer.from(stored.data), Buffer.from(GITHUB_PUSH, 'utf8'));
      const [attempt] = await h.attempts(endpointId);
      assert.equal(stored.header.get('Nats-Msg-Id'), event.id);
      assert.equal(stored.header.get('Correlation-Id'), event.id);
      assert.equal(stored.header.get('Switchboard-Message-Id'), attempt.msg_id);
      assert.equal(stored.header.get('Switchboard-Event-Type'), 'push');
      assert.equal(stored.header.get('X-Tenant'), 'acme');
      assert.equal(attempt.response_status_code, 200);
      assert.deepEqual(JSON.parse(attempt.response), { stream: name, seq: 1, duplicate: false });

      // The same event published again (a retry after a lost PubAck, a replay): de-duplicated.
      const ctx = server.sb.ctx;
      const message = await getMessageById(ctx.db, attempt.msg_id as MessageId);
      const target = await loadDeliveryTarget(ctx.db, ctx.box, endpointId);
      assert.ok(message?.payload && target);
      const transport = new NatsTransport({ url: NATS_URL, log: pino({ level: 'silent' }) });
      try {
        const again = await transport.send({
          target,
          message: { ...message, payload: message.payload },
          now: Date.now(),
        });
        assert.equal(again.statusCode, 200);
        assert.deepEqual(JSON.parse(again.response), { stream: name, seq: 1, duplicate: true });
      } finally {
        await transport.close();
      }
      const info = await jsm?.streams.info(name);
      assert.equal(info?.state.messages, 1);
    });

    it('a subject no stream captures is retried, then exhausted: the event is dead-lettered', {
      skip: natsSkip,
    }, async () => {
      const source = await h.githubSource();
      const subject = `sbtest.nostream.${randomBytes(5).toString('hex')}`;
      const endpointId = await h.endpoint(source.id, `nats:${subject}`);
      const delivery = await h.send(source.path, GITHUB_PUSH);
      const done = await h.finished(endpointId);
      assert.equal(done.status, MessageStatus.Fail);
      const attempts = await h.attempts(endpointId);
      assert.equal(attempts.length, 3, 'every attempt of the schedule');
      for (const attempt of attempts) {
        assert.equal(attempt.response_status_code, 503);
        assert.match(attempt.response, /no JetStream stream captures subject/);
      }
      const event = await h.event(source.id, delivery);
      assert.equal(event?.status, 'dead-lettered');
      assert.match(event?.error ?? '', new RegExp(`endpoint ${endpointId} \\(nats:${subject}\\)`));
      assert.match(event?.error ?? '', /retries exhausted: no JetStream stream/);
    });

    it('emails through SMTP with templated recipient and subject, body pretty-printed', async () => {
      const source = await h.githubSource();
      const endpointId = await h.endpoint(
        source.id,
        'mailto:{{pusher.email}}?cc=audit@example.com&subject=Push%20to%20{{repository.name}}',
      );
      await h.send(source.path, GITHUB_PUSH);
      assert.equal((await h.finished(endpointId)).status, MessageStatus.Success);
      const mail = smtp.mails.find((m) => m.to.includes('dev@example.com'));
      assert.ok(mail, 'the mail reached the SMTP server');
      assert.deepEqual(mail.to.sort(), ['audit@example.com', 'dev@example.com']);
      assert.equal(mail.from, 'hooks@example.com');
      assert.match(mail.raw, /^Subject: Push to switchboard$/m);
      assert.match(mail.raw, /^To: dev@example.com$/m);
      assert.match(mail.raw, /^X-Switchboard-Event-Type: push$/m);
      // ASCII-only lines of the pretty-printed payload appear as they are.
      assert.ok(mail.raw.includes('"repository": {\n    "name": "switchboard"\n  }'), mail.raw);
      const [attempt] = await h.attempts(endpointId);
      assert.equal(attempt.response_status_code, 200);
      assert.match(JSON.parse(attempt.response).smtp, /^250/);
    });

    it('an SMTP 451 (transient) is retried and then delivered', async () => {
      const source = await h.githubSource();
      const rcpt = `greylist-${randomBytes(4).toString('hex')}@example.com`;
      const endpointId = await h.endpoint(source.id, `mailto:${rcpt}`);
      const delivery = await h.send(source.path, GITHUB_PUSH);
      assert.equal((await h.finished(endpointId)).status, MessageStatus.Success);
      const attempts = await h.attempts(endpointId);
      assert.deepEqual(
        attempts.map((a) => a.response_status_code),
        [503, 200],
      );
      assert.match(attempts[0].response, /^SMTP 451 4\.7\.1 Greylisted/);
      assert.ok(smtp.mails.some((m) => m.to.includes(rcpt)));
      assert.equal((await h.event(source.id, delivery))?.status, 'routed');
    });

    it('an SMTP 550 (permanent) is not retried: the event is dead-lettered', async () => {
      const source = await h.githubSource();
      const endpointId = await h.endpoint(source.id, 'mailto:nobody@example.com');
      const delivery = await h.send(source.path, GITHUB_PUSH);
      assert.equal((await h.finished(endpointId)).status, MessageStatus.Fail);
      await sleep(400); // a retry would have come by now
      const attempts = await h.attempts(endpointId);
      assert.equal(attempts.length, 1);
      assert.equal(attempts[0].response_status_code, 422);
      assert.match(attempts[0].response, /^SMTP 550 5\.1\.1 No such user here/);
      const event = await h.event(source.id, delivery);
      assert.equal(event?.status, 'dead-lettered');
      assert.match(event?.error ?? '', /not retryable: SMTP 550/);
    });

    it('a template naming a missing field fails for good, with a clear message', async () => {
      const source = await h.githubSource();
      const endpointId = await h.endpoint(source.id, 'mailto:{{customer.email}}');
      const delivery = await h.send(source.path, GITHUB_PUSH);
      assert.equal((await h.finished(endpointId)).status, MessageStatus.Fail);
      const attempts = await h.attempts(endpointId);
      assert.equal(attempts.length, 1);
      assert.equal(attempts[0].response_status_code, 422);
      assert.equal(
        attempts[0].response,
        'template {{customer.email}}: the payload has no field "customer.email".',
      );
      assert.equal((await h.event(source.id, delivery))?.status, 'dead-lettered');
    });

    it('app: turns the event into a message of the application, signed, exactly once', async () => {
      const uid = `crm-${randomBytes(4).toString('hex')}`;
      const app = await server.svix.application.create({ name: 'CRM', uid });
      const appEndpoint = await server.svix.endpoint.create(app.id, { url: `${hook.url}/${uid}` });
      const { key } = await server.svix.endpoint.getSecret(app.id, appEndpoint.id);
      const source = await h.githubSource();
      const endpointId = await h.endpoint(source.id, `app:${uid}`);
      const delivery = await h.send(source.path, GITHUB_PUSH);
      assert.equal((await h.finished(endpointId)).status, MessageStatus.Success);

      const hit = await waitFor(
        'the application endpoint to be called',
        () => hook.hitsAt(`/${uid}`)[0],
      );
      assert.equal(hit.body.toString('utf8'), GITHUB_PUSH, 'the exact bytes');
      assert.deepEqual(
        new Webhook(key).verify(hit.body.toString('utf8'), hit.headers),
        JSON.parse(GITHUB_PUSH),
      );

      const [attempt] = await h.attempts(endpointId);
      assert.equal(attempt.response_status_code, 202);
      const created = JSON.parse(attempt.response);
      assert.equal(created.message, hit.headers['webhook-id'], 'the response names the message');
      assert.equal(created.eventId, forwardedEventId(attempt.msg_id));
      const message = await server.svix.message.get(app.id, created.message);
      assert.equal(message.eventType, 'push');
      assert.equal(message.eventId, `fwd_${attempt.msg_id}`);
      assert.equal((await h.event(source.id, delivery))?.status, 'routed');

      // A retry (e.g. after a crash before the attempt was recorded) finds the same message.
      const ctx = server.sb.ctx;
      const forwarded = await getMessageById(ctx.db, attempt.msg_id as MessageId);
      const target = await loadDeliveryTarget(ctx.db, ctx.box, endpointId);
      assert.ok(forwarded?.payload && target);
      const again = await new AppTransport(ctx).send({
        target,
        message: { ...forwarded, payload: forwarded.payload },
        now: Date.now(),
      });
      assert.equal(again.statusCode, 202);
      assert.deepEqual(JSON.parse(again.response), { ...created, duplicate: true });
      const list = await server.svix.message.list(app.id);
      assert.equal(list.data.length, 1, 'one message in the application');
      await sleep(300);
      assert.equal(hook.hitsAt(`/${uid}`).length, 1);
    });

    it('app: of an application deleted since is a 404, not retried: dead-lettered', async () => {
      const uid = `gone-${randomBytes(4).toString('hex')}`;
      await server.svix.application.create({ name: 'Gone', uid });
      const source = await h.githubSource();
      const endpointId = await h.endpoint(source.id, `app:${uid}`);
      await server.svix.application.delete(uid);
      const delivery = await h.send(source.path, GITHUB_PUSH);
      assert.equal((await h.finished(endpointId)).status, MessageStatus.Fail);
      const attempts = await h.attempts(endpointId);
      assert.equal(attempts.length, 1);
      assert.equal(attempts[0].response_status_code, 404);
      assert.match(attempts[0].response, new RegExp(`application "${uid}" not found`));
      const event = await h.event(source.id, delivery);
      assert.equal(event?.status, 'dead-lettered');
      assert.match(event?.error ?? '', /not retryable: application/);
    });

    it('application endpoints refuse nats:, mailto: and app: URLs (422)', async () => {
      const app = await server.svix.application.create({ name: 'Plain' });
      const good = await server.request('POST', `/api/v1/app/${app.id}/endpoint`, {
        body: { url: `${hook.url}/plain` },
      });
      assert.equal(good.status, 201, good.text);
      for (const url of ['nats:sales.gumroad', 'mailto:a@example.com', `app:${app.id}`]) {
        const created = await server.request('POST', `/api/v1/app/${app.id}/endpoint`, {
          body: { url },
        });
        assert.equal(created.status, 422, `${url}: ${created.text}`);
        assert.deepEqual(created.json.detail[0].loc, ['body', 'url']);
        assert.match(created.json.detail[0].msg, /http or https .*ingest source endpoints only/);
        const patched = await server.request(
          'PATCH',
          `/api/v1/app/${app.id}/endpoint/${good.json.id}`,
          { body: { url } },
        );
        assert.equal(patched.status, 422, `${url}: ${patched.text}`);
        const put = await server.request('PUT', `/api/v1/app/${app.id}/endpoint/${good.json.id}`, {
          body: { url },
        });
        assert.equal(put.status, 422, `${url}: ${put.text}`);
      }
      const list = await server.svix.endpoint.list(app.id);
      assert.deepEqual(
        list.data.map((endpoint) => endpoint.url),
        [`${hook.url}/plain`],
      );
    });

    it('the ingest API refuses malformed destinations (422) and writes nothing', async () => {
      const source = await h.githubSource();
      const cases: [string, RegExp][] = [
        ['nats:', /empty/],
        ['nats:sales.*', /wildcards/],
        ['nats:sales.>', /wildcards/],
        ['nats:sales..x', /tokens must not be empty/],
        ['nats:sales x', /whitespace/],
        ['nats://127.0.0.1:4222/sales', /NATS_URL/],
        ['mailto:', /no recipient/],
        ['mailto:not-an-address', /not an email address/],
        ['mailto:a@example.com?subject={{oops', /unbalanced/],
        ['mailto:a@example.com?reply-to=b@example.com', /not supported/],
        ['app:', /missing/],
        ['app:no such app', /letters, digits/],
        ['app:unknown-app', /not found/],
        ['ftp://example.com/x', /http or https/],
      ];
      for (const [url, why] of cases) {
        const response = await server.request(
          'POST',
          `/ingest/api/v1/source/${source.id}/endpoint`,
          {
            body: { url },
          },
        );
        assert.equal(response.status, 422, `${url}: ${response.text}`);
        assert.deepEqual(response.json.detail[0].loc, ['body', 'url'], url);
        assert.match(response.json.detail[0].msg, why, url);
      }
      // PUT (upsert) and PATCH check the same way.
      const ok = await h.endpoint(source.id, 'nats:sales.ok');
      const patched = await server.request(
        'PATCH',
        `/ingest/api/v1/source/${source.id}/endpoint/${ok}`,
        { body: { url: 'nats:sales.*' } },
      );
      assert.equal(patched.status, 422, patched.text);
      const put = await server.request(
        'PUT',
        `/ingest/api/v1/source/${source.id}/endpoint/ep_new`,
        {
          body: { url: 'mailto:nope' },
        },
      );
      assert.equal(put.status, 422, put.text);
      // Only the valid one exists, unchanged; the SDK reads every destination kind.
      const list = await server.svix.ingest.endpoint.list(source.id);
      assert.deepEqual(
        list.data.map((endpoint) => endpoint.url),
        ['nats:sales.ok'],
      );
      for (const url of ['mailto:{{email}}?subject=Hi', 'app:crm-x', 'nats:a.b']) {
        if (url.startsWith('app:'))
          await server.svix.application.create({ name: 'x', uid: 'crm-x' });
        const created = await server.svix.ingest.endpoint.create(source.id, { url });
        assert.equal(created.url, url);
        const upserted = await server.svix.ingest.endpoint.upsert(source.id, created.id, {
          url: 'nats:upserted.subject',
        });
        assert.equal(upserted.url, 'nats:upserted.subject');
        assert.equal(
          (await server.svix.ingest.endpoint.get(source.id, created.id)).url,
          upserted.url,
        );
      }
    });
  });

  describe(`inbound destinations: Postmark (${backend})`, () => {
    let server: TestServer;
    let postmark: Hook;
    const h = harness(() => server);

    before(async () => {
      postmark = await startHook((hit) => {
        const body = JSON.parse(hit.body.toString('utf8'));
        if (String(body.To).startsWith('inactive')) {
          return {
            status: 422,
            headers: JSON_TYPE,
            body: JSON.stringify({
              ErrorCode: 406,
              Message: 'You tried to send to an inactive recipient.',
            }),
          };
        }
        return {
          status: 200,
          headers: JSON_TYPE,
          body: JSON.stringify({
            To: body.To,
            SubmittedAt: new Date().toISOString(),
            MessageID: 'b7bc2f4a-e38e-4336-af7d-e6c392c2f817',
            ErrorCode: 0,
            Message: 'OK',
          }),
        };
      });
      server = await startTestServer(backend, {
        SWITCHBOARD_RETRY_SCHEDULE: SCHEDULE,
        SWITCHBOARD_POSTMARK_TOKEN: 'server-token-123',
        SWITCHBOARD_POSTMARK_URL: postmark.url,
        SWITCHBOARD_POSTMARK_STREAM: 'outbound',
        SWITCHBOARD_EMAIL_FROM: 'shop@example.com',
      });
    });
    after(async () => {
      await server.close();
      postmark.server.close();
    });

    it('sends through Postmark with the token and the right JSON', async () => {
      const source = await h.githubSource();
      const endpointId = await h.endpoint(
        source.id,
        'mailto:{{pusher.email}}?subject=Pushed%20by%20{{pusher.name}}&body=Repository%3A%20{{repository.name}}',
      );
      await h.send(source.path, GITHUB_PUSH);
      assert.equal((await h.finished(endpointId)).status, MessageStatus.Success);
      const hit = postmark.hits.find((candidate) => candidate.body.includes('dev@example.com'));
      assert.ok(hit);
      assert.equal(hit.path, '/email');
      assert.equal(hit.headers['x-postmark-server-token'], 'server-token-123');
      assert.equal(hit.headers['content-type'], 'application/json');
      assert.deepEqual(JSON.parse(hit.body.toString('utf8')), {
        From: 'shop@example.com',
        To: 'dev@example.com',
        Subject: 'Pushed by octo',
        TextBody: 'Repository: switchboard',
        MessageStream: 'outbound',
      });
      const [attempt] = await h.attempts(endpointId);
      assert.equal(attempt.response_status_code, 200);
      assert.match(attempt.response, /b7bc2f4a-e38e-4336-af7d-e6c392c2f817/);
    });

    it("Postmark's 422 ErrorCode 406 (inactive recipient) is not retried", async () => {
      const source = await h.githubSource();
      const endpointId = await h.endpoint(source.id, 'mailto:inactive@example.com');
      const delivery = await h.send(source.path, GITHUB_PUSH);
      assert.equal((await h.finished(endpointId)).status, MessageStatus.Fail);
      const attempts = await h.attempts(endpointId);
      assert.equal(attempts.length, 1);
      assert.equal(attempts[0].response_status_code, 422);
      assert.match(
        attempts[0].response,
        /ErrorCode 406: You tried to send to an inactive recipient/,
      );
      assert.equal((await h.event(source.id, delivery))?.status, 'dead-lettered');
    });
  });

  describe(`inbound destinations: nothing configured (${backend})`, () => {
    let server: TestServer;
    const h = harness(() => server);

    before(async () => {
      server = await startTestServer(backend, { SWITCHBOARD_RETRY_SCHEDULE: SCHEDULE });
    });
    after(async () => {
      await server.close();
    });

    it('the logging mailer records a successful attempt', async () => {
      const source = await h.githubSource();
      const endpointId = await h.endpoint(source.id, 'mailto:{{pusher.email}}?subject=Hi');
      const delivery = await h.send(source.path, GITHUB_PUSH);
      assert.equal((await h.finished(endpointId)).status, MessageStatus.Success);
      const [attempt] = await h.attempts(endpointId);
      assert.equal(attempt.response_status_code, 200);
      assert.deepEqual(JSON.parse(attempt.response), {
        logged: true,
        to: ['dev@example.com'],
        subject: 'Hi',
      });
      assert.equal((await h.event(source.id, delivery))?.status, 'routed');
    });

    it('without NATS_URL a nats: endpoint fails clearly, is retried, then dead-lettered', async () => {
      const source = await h.githubSource();
      const endpointId = await h.endpoint(source.id, 'nats:sales.gumroad');
      const delivery = await h.send(source.path, GITHUB_PUSH);
      assert.equal((await h.finished(endpointId)).status, MessageStatus.Fail);
      const attempts = await h.attempts(endpointId);
      assert.equal(attempts.length, 3);
      for (const attempt of attempts) {
        assert.match(
          attempt.error ?? '',
          /^NATS_URL is not set: cannot publish to "sales.gumroad"/,
        );
      }
      const event = await h.event(source.id, delivery);
      assert.equal(event?.status, 'dead-lettered');
      assert.match(event?.error ?? '', /retries exhausted: NATS_URL is not set/);
    });
  });
}
