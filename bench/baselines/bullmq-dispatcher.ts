/**
 * Outbound baseline: a webhook dispatcher built "the usual way", in one process like
 * Switchboard's `SWITCHBOARD_ROLE=all`:
 *
 * - an emit API on `node:http` (`POST /msg`, the same body as Switchboard's create-message)
 *   that adds one BullMQ job per (message, endpoint) to a queue on Redis, answering 202 once
 *   Redis has them; and its batch form, `POST /msg/batch` with `{"messages":[…]}` (1…500
 *   create-message bodies, like Switchboard's `POST /api/v1/app/{app}/msg/batch`): every message
 *   validated as `/msg` does (any invalid: 422, nothing queued), then ONE `queue.addBulk` with
 *   all (message × endpoint) jobs, answering 202 `{"data":[{id, eventType}, …]}` in input order;
 * - a BullMQ Worker (concurrency 64 by default) that signs with Standard Webhooks (the
 *   `standardwebhooks` package: `v1,` HMAC-SHA256 over `{id}.{ts}.{body}`) and POSTs with
 *   undici, with Switchboard's retry semantics: as many attempts as the schedule has values,
 *   a custom backoff following the schedule (0,30,300,1800,21600,86400 s, retries jittered
 *   ×[0.8,1.2]), retried on network error/timeout (15 s)/408/429/5xx, given up on other answers.
 *
 * Usage (run by bench/run.ts): bullmq-dispatcher.ts '<json config>' where the config is
 * {redisUrl, queue, concurrency, endpoints: [{url, secret}]}. Ready info: {url (of `/msg`;
 * `${url}/batch` is the batch form), pid}. IPC commands: stats, redisPid, close (closes the
 * worker and obliterates the queue).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { Agent, request } from 'undici';
import { serveIpc } from '../lib/ipc.js';

interface Config {
  redisUrl: string;
  queue: string;
  concurrency: number;
  endpoints: { url: string; secret: string }[];
}

interface JobData {
  msgId: string;
  endpoint: number;
  payload: string;
}

interface MessageIn {
  eventType?: unknown;
  payload: object;
}

/** Most messages one `POST /msg/batch` takes (as Switchboard's batch endpoint). */
const MAX_BATCH = 500;

// BullMQ needs a Redis client package it only declares as an optional peer (ioredis).
try {
  createRequire(import.meta.url).resolve('ioredis');
} catch {
  process.stderr.write(
    "bullmq baseline: the 'ioredis' package is not installed (BullMQ's optional peer); add it to devDependencies, or point NODE_PATH at a node_modules that has it\n",
  );
  process.exit(3);
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
const SCHEDULE_SECONDS = [0, 30, 300, 1800, 21600, 86400];
const redis = new URL(config.redisUrl);
const connection = {
  host: redis.hostname,
  port: Number(redis.port || 6379),
  maxRetriesPerRequest: null,
};

const queue = new Queue<JobData>(config.queue, { connection });
const signers = config.endpoints.map((endpoint) => new Webhook(endpoint.secret));
const agent = new Agent({ keepAliveTimeout: 60_000, connections: 128 });
let completed = 0;
let failedAttempts = 0;

const worker = new Worker<JobData>(
  config.queue,
  async (job) => {
    const { msgId, endpoint, payload } = job.data;
    const target = config.endpoints[endpoint];
    const now = new Date();
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'bullmq-dispatcher/bench',
      'webhook-id': msgId,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signers[endpoint].sign(msgId, now, payload),
    };
    let status: number;
    try {
      const response = await request(target.url, {
        method: 'POST',
        headers,
        body: payload,
        dispatcher: agent,
        headersTimeout: 15_000,
        bodyTimeout: 15_000,
      });
      status = response.statusCode;
      await response.body.text();
    } catch (error) {
      failedAttempts++;
      throw error; // network error or timeout: retried
    }
    if (status >= 200 && status < 300) return status;
    failedAttempts++;
    if (status === 408 || status === 429 || status >= 500) throw new Error(`HTTP ${status}`);
    throw new UnrecoverableError(`HTTP ${status}`);
  },
  {
    connection,
    concurrency: config.concurrency,
    settings: {
      backoffStrategy: (attemptsMade: number) =>
        (SCHEDULE_SECONDS[attemptsMade] ?? 86400) * 1000 * (0.8 + Math.random() * 0.4),
    },
  },
);
worker.on('completed', () => {
  completed++;
});
worker.on('error', (error) => {
  process.stderr.write(`bullmq worker error: ${error.message}\n`);
});

const JOB_OPTIONS = {
  attempts: SCHEDULE_SECONDS.length,
  backoff: { type: 'custom' },
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 10_000 },
};

/** What `/msg` checks of a create-message body: a JSON object payload. */
function isMessage(input: unknown): input is MessageIn {
  const payload = (input as { payload?: unknown } | null)?.payload;
  return typeof payload === 'object' && payload !== null;
}

/** One job per endpoint for one message. */
function jobsFor(msgId: string, payload: string) {
  return config.endpoints.map((_, endpoint) => ({
    name: 'deliver',
    data: { msgId, endpoint, payload },
    opts: JOB_OPTIONS,
  }));
}

function reply(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(body);
}

/** Queues `jobs` with one addBulk, then answers 202 with `answer` (500 if Redis refuses). */
function enqueue(res: ServerResponse, jobs: ReturnType<typeof jobsFor>, answer: () => string) {
  queue.addBulk(jobs).then(
    () => reply(res, 202, answer()),
    (error: Error) =>
      reply(res, 500, JSON.stringify({ code: 'queue_error', detail: error.message })),
  );
}

const server = createServer((req, res) => {
  const batch = req.url === '/msg/batch';
  if (req.method !== 'POST' || (req.url !== '/msg' && !batch)) {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let input: unknown;
    try {
      input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      reply(res, 400, '{"code":"bad_json"}');
      return;
    }
    if (!batch) {
      if (!isMessage(input)) {
        reply(res, 422, '{"code":"validation"}');
        return;
      }
      const msgId = `msg_${randomUUID()}`;
      enqueue(res, jobsFor(msgId, JSON.stringify(input.payload)), () =>
        JSON.stringify({ id: msgId, eventType: input.eventType }),
      );
      return;
    }
    const messages = (input as { messages?: unknown } | null)?.messages;
    if (!Array.isArray(messages) || messages.length < 1 || messages.length > MAX_BATCH) {
      reply(res, 422, `{"code":"validation","detail":"messages: 1 to ${MAX_BATCH} messages"}`);
      return;
    }
    const invalid = messages.findIndex((message) => !isMessage(message));
    if (invalid !== -1) {
      reply(res, 422, `{"code":"validation","detail":"messages[${invalid}]"}`);
      return;
    }
    const jobs: ReturnType<typeof jobsFor> = [];
    const out: { id: string; eventType: unknown }[] = [];
    for (const message of messages as MessageIn[]) {
      const msgId = `msg_${randomUUID()}`;
      jobs.push(...jobsFor(msgId, JSON.stringify(message.payload)));
      out.push({ id: msgId, eventType: message.eventType });
    }
    enqueue(res, jobs, () => JSON.stringify({ data: out }));
  });
});
server.keepAliveTimeout = 120_000;

await queue.waitUntilReady();
await worker.waitUntilReady();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  serveIpc(
    {
      stats: () => ({ completed, failedAttempts }),
      /** Redis's own pid (when it runs on this machine), so its CPU can be counted too. */
      async redisPid() {
        const client = (await queue.getBackend().client) as unknown as {
          info(section: string): Promise<string>;
        };
        const info = await client.info('server');
        const match = /process_id:(\d+)/.exec(info);
        return match ? Number(match[1]) : null;
      },
      async close() {
        server.close();
        await worker.close();
        await queue.obliterate({ force: true });
        await queue.close();
        await agent.close();
        return true;
      },
    },
    { url: `http://127.0.0.1:${port}/msg`, pid: process.pid },
  );
});
