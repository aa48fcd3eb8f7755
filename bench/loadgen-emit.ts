/**
 * Outbound load generator, in a process of its own: emits messages through an HTTP API
 * (Switchboard's `POST /api/v1/app/{app}/msg`, or the BullMQ baseline's `POST /msg`) with
 * undici, either as fast as `concurrency` clients can (closed loop) or at a fixed rate (open
 * loop). Every payload starts with `"emittedAt":<epoch ms>` (performance.timeOrigin +
 * performance.now(), read just before the request is written), which the receiver subtracts
 * from its arrival time.
 *
 * With `batchSize` > 1 (closed loop only) each request carries up to `batchSize` messages,
 * `{"messages":[…]}`, to a batch endpoint (Switchboard's `POST /api/v1/app/{app}/msg/batch`, the
 * baseline's `POST /msg/batch`), the last request the rest; each message has its own
 * `emittedAt`. `count`, `ok` and `failed` count messages (a 2xx batch: all of its messages ok);
 * `statuses` and `ackLatency` count requests. The bodies are built in bench/lib/emit-body.ts.
 *
 * IPC command: run(EmitArgs).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { batchBody, batches, messageBody } from './lib/emit-body.js';
import { serveIpc } from './lib/ipc.js';
import { type LatencySummary, nowMs, summarize } from './lib/stats.js';

export interface EmitArgs {
  /** Full URL of the emit endpoint. */
  url: string;
  headers: Record<string, string>;
  /** Messages to emit (not requests). */
  count: number;
  /** Requests in flight at once (closed loop). */
  concurrency: number;
  /** Messages per second (open loop); when set, `concurrency` only sizes the pool. */
  ratePerSec?: number;
  /** Bytes of one message's body. */
  payloadBytes: number;
  /**
   * Messages per request (default 1: one create-message body per request). Above 1, each
   * request is a batch body `{"messages":[…]}` for a batch endpoint; closed loop only.
   */
  batchSize?: number;
}

export interface EmitResult {
  /** Messages accepted (every message of a 2xx answer). */
  ok: number;
  /** Messages not accepted (every message of a non-2xx answer or failed request). */
  failed: number;
  /** Requests made (= messages when batchSize is 1). */
  requests: number;
  /** Answers by HTTP status ('error' when none), per request. */
  statuses: Record<string, number>;
  firstError?: string;
  firstEmitAt: number;
  lastEmitAt: number;
  lastAckAt: number;
  /** Emit request latency (request written → 2xx read), ms, per request. */
  ackLatency: LatencySummary;
}

async function run(args: EmitArgs): Promise<EmitResult> {
  const batchSize = args.batchSize ?? 1;
  if (batchSize !== 1 && args.ratePerSec !== undefined) {
    throw new Error(
      `open-loop emits (ratePerSec ${args.ratePerSec}) are one message per request: batchSize ${batchSize} is for closed-loop runs only`,
    );
  }
  const plan = batches(args.count, batchSize);
  const url = new URL(args.url);
  const pool = new Pool(url.origin, {
    connections: args.concurrency,
    keepAliveTimeout: 60_000,
    pipelining: 1,
  });
  const path = url.pathname + url.search;
  const headers = { 'content-type': 'application/json', ...args.headers };
  const statuses: Record<string, number> = {};
  const ackLatency: number[] = [];
  let ok = 0;
  let failed = 0;
  let requests = 0;
  let firstError: string | undefined;
  let firstEmitAt = 0;
  let lastEmitAt = 0;
  let lastAckAt = 0;

  /** One request: message `first` alone, or messages `first` … `first + size - 1` as a batch. */
  async function emit(first: number, size: number): Promise<void> {
    const text =
      batchSize === 1
        ? messageBody(first, args.payloadBytes)
        : batchBody(first, size, args.payloadBytes);
    const start = nowMs();
    requests++;
    if (firstEmitAt === 0) firstEmitAt = start;
    lastEmitAt = start;
    try {
      const response = await pool.request({ method: 'POST', path, headers, body: text });
      const answer = await response.body.text();
      const end = nowMs();
      statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
      if (response.statusCode >= 200 && response.statusCode < 300) {
        ok += size;
        lastAckAt = end;
        ackLatency.push(end - start);
      } else {
        failed += size;
        firstError ??= `HTTP ${response.statusCode}: ${answer.slice(0, 300)}`;
      }
    } catch (error) {
      failed += size;
      statuses.error = (statuses.error ?? 0) + 1;
      firstError ??= (error as Error).message;
    }
  }

  if (args.ratePerSec !== undefined) {
    const interval = 1000 / args.ratePerSec;
    const t0 = performance.now();
    const pending: Promise<void>[] = [];
    for (let seq = 0; seq < args.count; seq++) {
      const wait = t0 + seq * interval - performance.now();
      if (wait > 1) await sleep(wait);
      pending.push(emit(seq, 1));
    }
    await Promise.all(pending);
  } else {
    let next = 0;
    const worker = async () => {
      while (next < plan.length) {
        const [first, size] = plan[next++];
        await emit(first, size);
      }
    };
    await Promise.all(Array.from({ length: args.concurrency }, worker));
  }
  await pool.close();
  return {
    ok,
    failed,
    requests,
    statuses,
    firstError,
    firstEmitAt,
    lastEmitAt,
    lastAckAt,
    ackLatency: summarize(ackLatency),
  };
}

serveIpc({ run }, { pid: process.pid });
