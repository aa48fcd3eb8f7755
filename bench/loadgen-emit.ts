/**
 * Outbound load generator, in a process of its own: emits messages through an HTTP API
 * (Switchboard's `POST /api/v1/app/{app}/msg`, or the BullMQ baseline's `POST /msg`) with
 * undici, either as fast as `concurrency` clients can (closed loop) or at a fixed rate (open
 * loop). Every payload starts with `"emittedAt":<epoch ms>` (performance.timeOrigin +
 * performance.now(), read just before the request is written), which the receiver subtracts
 * from its arrival time.
 *
 * IPC command: run(EmitArgs).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { serveIpc } from './lib/ipc.js';
import { type LatencySummary, nowMs, summarize } from './lib/stats.js';

export interface EmitArgs {
  /** Full URL of the emit endpoint. */
  url: string;
  headers: Record<string, string>;
  count: number;
  /** Clients sending at once (closed loop). */
  concurrency: number;
  /** Messages per second (open loop); when set, `concurrency` only sizes the pool. */
  ratePerSec?: number;
  payloadBytes: number;
}

export interface EmitResult {
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  firstError?: string;
  firstEmitAt: number;
  lastEmitAt: number;
  lastAckAt: number;
  /** Emit request latency (request written → 2xx read), ms. */
  ackLatency: LatencySummary;
}

function body(seq: number, payloadBytes: number): string {
  const emittedAt = nowMs();
  const head = `{"eventType":"bench.event","payload":{"emittedAt":${emittedAt},"seq":${seq},"kind":"invoice.paid","data":{"id":"inv_${seq}","amount":4200,"currency":"eur"},"pad":"`;
  // The whole request body is `payloadBytes` long (the delivered payload ~30 bytes less).
  const pad = Math.max(0, payloadBytes - head.length - 3);
  return `${head}${'x'.repeat(pad)}"}}`;
}

async function run(args: EmitArgs): Promise<EmitResult> {
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
  let firstError: string | undefined;
  let firstEmitAt = 0;
  let lastEmitAt = 0;
  let lastAckAt = 0;

  async function emit(seq: number): Promise<void> {
    const text = body(seq, args.payloadBytes);
    const start = nowMs();
    if (firstEmitAt === 0) firstEmitAt = start;
    lastEmitAt = start;
    try {
      const response = await pool.request({ method: 'POST', path, headers, body: text });
      const answer = await response.body.text();
      const end = nowMs();
      statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
      if (response.statusCode >= 200 && response.statusCode < 300) {
        ok++;
        lastAckAt = end;
        ackLatency.push(end - start);
      } else {
        failed++;
        firstError ??= `HTTP ${response.statusCode}: ${answer.slice(0, 300)}`;
      }
    } catch (error) {
      failed++;
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
      pending.push(emit(seq));
    }
    await Promise.all(pending);
  } else {
    let next = 0;
    const worker = async () => {
      while (next < args.count) await emit(next++);
    };
    await Promise.all(Array.from({ length: args.concurrency }, worker));
  }
  await pool.close();
  return {
    ok,
    failed,
    statuses,
    firstError,
    firstEmitAt,
    lastEmitAt,
    lastAckAt,
    ackLatency: summarize(ackLatency),
  };
}

serveIpc({ run }, { pid: process.pid });
