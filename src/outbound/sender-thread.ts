import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Sender } from './sender.js';
import { type SendResult, unanswered } from './transports/types.js';

/** What the thread builds its `WebhookSender` from: plain data, since it is cloned across. */
export interface SenderThreadOptions {
  allowedNetworks: readonly string[];
  userAgent: string;
  timeoutMs?: number;
  responseCapBytes?: number;
}

/** One POST to make, as it crosses to the thread. */
export type SendRequest = [id: number, url: string, headers: Record<string, string>, body: string];
/** Its result, as it crosses back. */
export type SendReply = [id: number, result: SendResult];
export type ToSenderThread = { send: SendRequest[] } | { close: true };

const ENTRY = new URL(
  `./sender-thread-entry${extname(fileURLToPath(import.meta.url))}`,
  import.meta.url,
).href;
// A worker thread does not inherit the TypeScript loader the process runs with (`npm start` is
// `node --import tsx`): run from sources, the thread registers it before loading its entry. The
// loader is resolved here, from this file: code evaluated in a thread resolves packages from
// the working directory, which need not be the project's.
const BOOT = ENTRY.endsWith('.ts')
  ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(ENTRY)}); });`
  : `import(${JSON.stringify(ENTRY)});`;

/**
 * The thread's young generation: its live data is mostly the bodies in flight, and V8's default
 * young generation added ~30 MB of RSS for nothing (measured: the backlog's peak RSS 273 MB with
 * the default, 245 MB with 12 MB, drain rate unchanged). The old generation keeps the process's
 * limit (`--max-old-space-size`, V8's flags are per process): bodies near the body limit, 256 in
 * flight, need as much room here as on the event loop (docs/delivery.md, "Memory").
 */
const THREAD_HEAP = { maxYoungGenerationSizeMb: 12 };

/** How long `close` lets the thread finish its attempts before it is terminated. */
const CLOSE_TIMEOUT_MS = 5_000;

interface Pending {
  resolve: (result: SendResult) => void;
  started: number;
}

/**
 * A `Sender` whose POSTs run on a worker thread of their own, with its own event loop: undici,
 * the sockets and the response parsing (a quarter to a third of the event loop's time per
 * delivery, docs/benchmarks.md) leave the thread that takes emits and records outcomes, and run on the
 * other core. The requests of one turn of the event loop cross as one message, and their
 * results come back the same way, so the hop costs a few microseconds per delivery.
 *
 * Written here because no library runs an undici agent on a thread behind a promise API.
 * Should the thread die, the attempts it held end as network errors — retried on the schedule,
 * like any attempt whose outcome is unknown — and the next send starts a new one.
 */
export class ThreadedSender implements Sender {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private outbox: SendRequest[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly options: SenderThreadOptions,
    private readonly onThreadFailure: (error: Error) => void,
  ) {
    // Started now, while the process is starting anyway: booting a thread takes ~0.2 s (its
    // own isolate, the TypeScript loader, undici), which the first webhook must not wait for.
    this.thread();
  }

  send(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    if (this.closed)
      return Promise.resolve({
        ...unanswered('network-error', 'network error: sender closed'),
        durationMs: 0,
      });
    const id = this.nextId++;
    if (this.outbox.length === 0) setImmediate(this.flush);
    this.outbox.push([id, url, headers, body]);
    return new Promise((resolve) => {
      this.pending.set(id, { resolve, started: performance.now() });
    });
  }

  private readonly flush = (): void => {
    if (this.outbox.length === 0) return;
    const batch = this.outbox;
    this.outbox = [];
    this.thread().postMessage({ send: batch } satisfies ToSenderThread);
  };

  private thread(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(BOOT, {
      eval: true,
      workerData: this.options,
      resourceLimits: THREAD_HEAP,
    });
    // The HTTP server keeps the process alive, not this thread.
    worker.unref();
    worker.on('message', (replies: SendReply[]) => {
      for (const [id, result] of replies) {
        const entry = this.pending.get(id);
        this.pending.delete(id);
        entry?.resolve(result);
      }
    });
    worker.on('error', (error) => this.lost(worker, error));
    worker.on('exit', (code) => this.lost(worker, new Error(`sender thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  /** The thread is gone: what it held ends as a network error; what it was never given waits. */
  private lost(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    if (this.closed) {
      // Terminated at close, after CLOSE_TIMEOUT_MS: not a failure of the thread.
      this.failPending('network error: sender closed');
      return;
    }
    this.failPending(`network error: sender thread failed (${error.message})`);
    this.onThreadFailure(error);
    // Requests of this turn not yet handed over go to the next thread.
    if (this.outbox.length > 0) setImmediate(this.flush);
  }

  private failPending(message: string): void {
    const waiting = new Set(this.outbox.map(([id]) => id));
    const now = performance.now();
    for (const [id, entry] of this.pending) {
      if (waiting.has(id) && !this.closed) continue;
      this.pending.delete(id);
      entry.resolve({
        ...unanswered('network-error', message),
        durationMs: Math.round(now - entry.started),
      });
    }
  }

  /** Lets the thread finish its attempts (bounded), then stops it. */
  async close(): Promise<void> {
    this.flush();
    this.closed = true;
    const worker = this.worker;
    if (worker !== undefined) {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ close: true } satisfies ToSenderThread);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), CLOSE_TIMEOUT_MS);
      });
      if (await Promise.race([exited.then(() => false), late])) await worker.terminate();
      clearTimeout(timer);
    }
    this.failPending('network error: sender closed');
  }
}
