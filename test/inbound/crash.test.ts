import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sign } from '@octokit/webhooks-methods';
import { Agent, request } from 'undici';
import { type Backend, backends, createPostgresDatabase } from '../helpers/backends.js';
import {
  adminApi,
  crashTestEnv,
  listInboundEvents,
  type SpawnedServer,
  spawnServer,
  stopServer,
} from '../helpers/process.js';

// Process-level crash test of the inbound gateway (SPEC §4 "persist … → answer 2xx", §6
// "Nothing lost"): a real server process receives signed GitHub webhooks many at a time, is
// SIGKILLed while requests are in flight, and restarts on the same database. Every webhook
// that was answered 2xx must be stored and forwarded to the source's endpoint; one that failed
// with a connection error may or may not be stored, but if it is, it is forwarded too.

const WEBHOOKS = 400;
const IN_FLIGHT = 32;
/** SIGKILL once this many webhooks have been acknowledged (~40 %). */
const KILL_AFTER_ACKS = 160;
const SECRET = 'crash-test secret: it is a secret to everybody';
const TOKEN = `test_admin_${randomBytes(12).toString('hex')}`;

const api = adminApi(TOKEN);

/**
 * The source's endpoint: a node:http server that records, per GitHub delivery id (carried in
 * the forwarded body, which is the provider's body byte for byte), how often it accepted it
 * and the exact bytes. Every 8th request is answered 503, so retries take part.
 */
class Hook {
  /** delivery id → number of 2xx answers. */
  readonly accepted = new Map<string, number>();
  /** delivery id → the body as received. */
  readonly bodies = new Map<string, Buffer>();
  requests = 0;
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<Hook> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const hook = new Hook(server, `http://127.0.0.1:${port}/github`);
    server.on('request', (req, res) => {
      const arrival = hook.requests++;
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (arrival % 8 === 7) {
          res.writeHead(503).end();
          return;
        }
        let delivery = '';
        try {
          delivery = String(JSON.parse(body.toString('utf8')).delivery ?? '');
        } catch {
          delivery = `unparseable:${body.toString('base64')}`;
        }
        hook.accepted.set(delivery, (hook.accepted.get(delivery) ?? 0) + 1);
        hook.bodies.set(delivery, body);
        res.writeHead(204).end();
      });
    });
    return hook;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close').catch(() => {});
  }
}

interface Webhook {
  delivery: string;
  body: string;
  outcome: 'unsent' | 'acked' | 'refused' | 'failed';
  status?: number;
  error?: string;
}

function makeWebhooks(run: string): Webhook[] {
  return Array.from({ length: WEBHOOKS }, (_, i) => {
    const delivery = `${run}-${String(i).padStart(4, '0')}-${randomBytes(4).toString('hex')}`;
    const body = JSON.stringify({
      delivery,
      action: 'opened',
      number: i,
      padding: randomBytes(64 + (i % 7) * 50).toString('base64'),
    });
    return { delivery, body, outcome: 'unsent' };
  });
}

/**
 * Sends every webhook, `IN_FLIGHT` at a time, and SIGKILLs `server` once `KILL_AFTER_ACKS`
 * have been acknowledged. Nothing new is sent after the kill.
 */
async function sendUntilKilled(server: SpawnedServer, path: string, webhooks: Webhook[]) {
  const agent = new Agent({ connections: IN_FLIGHT, keepAliveTimeout: 10_000 });
  let next = 0;
  let acked = 0;
  let killed = false;
  let inFlightAtKill = 0;
  let inFlight = 0;
  const worker = async () => {
    while (!killed && next < webhooks.length) {
      const webhook = webhooks[next++] as Webhook;
      inFlight++;
      try {
        const response = await request(`${server.url}${path}`, {
          method: 'POST',
          dispatcher: agent,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'GitHub-Hookshot/crash-test',
            'x-github-event': 'pull_request',
            'x-github-delivery': webhook.delivery,
            'x-hub-signature-256': await sign(SECRET, webhook.body),
          },
          body: webhook.body,
        });
        await response.body.text();
        webhook.status = response.statusCode;
        if (response.statusCode >= 200 && response.statusCode < 300) {
          webhook.outcome = 'acked';
          if (++acked >= KILL_AFTER_ACKS && !killed) {
            killed = true;
            inFlightAtKill = inFlight - 1;
            server.child.kill('SIGKILL');
          }
        } else {
          webhook.outcome = 'refused';
        }
      } catch (error) {
        webhook.outcome = 'failed';
        webhook.error = (error as Error & { code?: string }).code ?? (error as Error).message;
      } finally {
        inFlight--;
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  await agent.destroy().catch(() => {});
  return { killed, inFlightAtKill };
}

interface StoredEvent {
  eventId: string | null;
  status: string;
}

const available = await backends();

describe('inbound webhooks across a crash', { concurrency: false }, () => {
  for (const backend of ['sqlite', 'postgres'] as Backend[]) {
    it(`${backend}: SIGKILL under load, restart: every acknowledged webhook is stored and forwarded`, {
      skip: !available.includes(backend) && 'PostgreSQL not reachable',
      timeout: 60_000,
    }, async () => {
      const began = performance.now();
      const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-inbound-crash-'));
      const database = backend === 'postgres' ? await createPostgresDatabase() : undefined;
      const env = crashTestEnv(
        database?.url ?? `sqlite:${join(dataDir, 'switchboard.db')}`,
        dataDir,
        TOKEN,
        {
          SWITCHBOARD_ALLOWED_NETWORKS: '127.0.0.0/8',
          SWITCHBOARD_RETRY_SCHEDULE: '0,1,1,1,1,1,1,1,1,1',
        },
      );
      const hook = await Hook.start();
      let server: SpawnedServer | undefined;
      try {
        server = await spawnServer(env);
        const source = await api(server, 'POST', '/ingest/api/v1/source', {
          name: 'GitHub (crash test)',
          type: 'github',
          config: { secret: SECRET },
        });
        const sourceId = source.id as string;
        const path = new URL(source.ingestUrl as string).pathname;
        await api(server, 'POST', `/ingest/api/v1/source/${sourceId}/endpoint`, { url: hook.url });

        const webhooks = makeWebhooks(backend);
        const first = server;
        const { killed, inFlightAtKill } = await sendUntilKilled(first, path, webhooks);
        await first.exited;
        assert.ok(killed, 'the server was killed under load');
        const count = (outcome: Webhook['outcome']) =>
          webhooks.filter((webhook) => webhook.outcome === outcome).length;
        const forwardedAtKill = hook.accepted.size;
        console.log(
          `# ${backend}: killed with ${count('acked')} acknowledged, ${count('failed')} failed ` +
            `(${inFlightAtKill} in flight at the kill), ${count('unsent')} unsent, ` +
            `${forwardedAtKill} already forwarded`,
        );
        assert.deepEqual(
          webhooks
            .filter((webhook) => webhook.outcome === 'refused')
            .map((webhook) => `${webhook.delivery}: ${webhook.status}`),
          [],
          'no webhook was refused with an HTTP error',
        );
        assert.ok(count('failed') > 0, 'some requests were in flight when the server died');

        server = await spawnServer(env);
        const events = await listInboundEvents<StoredEvent>(api, server, sourceId);
        const stored = new Map<string, StoredEvent>();
        for (const event of events) {
          assert.ok(event.eventId, 'every event has its delivery id');
          assert.ok(!stored.has(event.eventId), `${event.eventId} is stored once`);
          stored.set(event.eventId, event);
        }
        const sent = new Map(webhooks.map((webhook) => [webhook.delivery, webhook]));
        for (const id of stored.keys()) {
          const webhook = sent.get(id);
          assert.ok(webhook && webhook.outcome !== 'unsent', `${id} was sent`);
        }
        const lost = webhooks
          .filter((webhook) => webhook.outcome === 'acked' && !stored.has(webhook.delivery))
          .map((webhook) => webhook.delivery);
        assert.deepEqual(lost, [], 'every acknowledged webhook is stored');
        // Forwarding commits with the event: a stored event is already routed.
        assert.deepEqual(
          [...stored.values()].filter((event) => event.status !== 'routed'),
          [],
          'every stored event was queued for forwarding in its own transaction',
        );
        const storedFailed = webhooks.filter(
          (webhook) => webhook.outcome === 'failed' && stored.has(webhook.delivery),
        ).length;

        const deadline = performance.now() + 30_000;
        const missing = () => [...stored.keys()].filter((id) => !hook.accepted.has(id));
        while (missing().length > 0) {
          assert.ok(
            performance.now() < deadline,
            `every stored webhook is forwarded; still missing after 30 s: ${missing().slice(0, 10).join(', ')}`,
          );
          await sleep(50);
        }
        // Nothing arrives that was not stored, and what arrives is the provider's exact body.
        const unexpected = [...hook.accepted.keys()].filter((id) => !stored.has(id));
        assert.deepEqual(unexpected, [], 'only stored webhooks are forwarded');
        for (const [id, body] of hook.bodies) {
          assert.equal(
            body.toString('utf8'),
            sent.get(id)?.body,
            `${id} is forwarded byte for byte`,
          );
        }
        let duplicates = 0;
        for (const times of hook.accepted.values()) duplicates += times - 1;
        console.log(
          `# ${backend}: after restart ${stored.size} stored (${count('acked')} acknowledged + ` +
            `${storedFailed} of ${count('failed')} failed), ${hook.accepted.size} forwarded ` +
            `(${duplicates} duplicate deliveries, ${hook.requests} requests), ` +
            `${((performance.now() - began) / 1000).toFixed(1)} s`,
        );
      } finally {
        await stopServer(server);
        await hook.close();
        await database?.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});
