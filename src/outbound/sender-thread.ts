import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Sender } from './sender.js';
import type { DeliverySigning } from './signing.js';
import { type SendResult, unanswered } from './transports/types.js';

/** What the thread builds its `WebhookSender` from: plain data, since it is cloned across. */
export interface SenderThreadOptions {
  allowedNetworks: readonly string[];
  userAgent: string;
}

/** One POST to make, as it crosses to the thread. */
export type SendRequest = [
  id: number,
  url: string,
  headers: Record<string, string>,
  body: string,
  signing: DeliverySigning | undefined,
];
/** Its result, as it crosses back. */
export type SendReply = [id: number, result: SendResult];
export type ToSenderThread = { send: SendRequest[] } | { close: true };
/** `ready` once the thread's sender is built; then results, batched. */
export type FromSenderThread = { ready: true } | { replies: SendReply[] };

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

/** The result of an attempt that ended without an answer from the receiver. */
function networkError(message: string, durationMs: number): SendResult {
  return { ...unanswered('network-error', message), durationMs };
}

interface Pending {
  request: SendRequest;
  resolve: (result: SendResult) => void;
  started: number;
}

/**
 * A `Sender` whose POSTs run on a worker thread of their own, with its own event loop: undici,
 * the sockets and the response parsing (a quarter to a third of the event loop's time per
 * delivery, docs/benchmarks.md) leave the thread that takes emits and records outcomes, and
 * run on the other core. The requests of one turn of the event loop cross as one message, and their
 * results come back the same way, so the hop costs a few microseconds per delivery.
 *
 * Written here because no library runs an undici agent on a thread behind a promise API.
 * Should the thread die, the attempts it held end as network errors — retried on the schedule,
 * like any attempt whose outcome is unknown — and the next send starts a new one. A thread that
 * cannot even start (it never said `ready`, so it sent nothing) is not started again: its
 * attempts, and all later ones, go to the in-process `fallback` sender.
 */
export class ThreadedSender implements Sender {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private outbox: SendRequest[] = [];
  private nextId = 1;
  private closed = false;
  /** The current thread has said `ready`. */
  private booted = false;
  /** Set when no thread could start: every attempt is made in process. */
  private inProcess: Sender | undefined;

  constructor(
    private readonly options: SenderThreadOptions,
    /** The sender used instead when the thread cannot start. */
    private readonly fallback: () => Sender,
    /** A thread died (`fellBack`: it never started, and attempts are now made in process). */
    private readonly onThreadFailure: (error: Error, fellBack: boolean) => void,
  ) {
    // Started now, while the process is starting anyway: booting a thread takes ~0.2 s (its
    // own isolate, the TypeScript loader, undici), which the first webhook must not wait for.
    this.thread();
  }

  send(
    url: string,
    headers: Record<string, string>,
    body: string,
    signing?: DeliverySigning,
  ): Promise<SendResult> {
    if (this.inProcess !== undefined) return this.inProcess.send(url, headers, body, signing);
    if (this.closed) return Promise.resolve(networkError('network error: sender closed', 0));
    const request: SendRequest = [this.nextId++, url, headers, body, signing];
    if (this.outbox.length === 0) setImmediate(this.flush);
    this.outbox.push(request);
    return new Promise((resolve) => {
      this.pending.set(request[0], { request, resolve, started: performance.now() });
    });
  }

  private readonly flush = (): void => {
    if (this.outbox.length === 0 || this.inProcess !== undefined) return;
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
    this.booted = false;
    worker.on('message', (message: FromSenderThread) => {
      if ('ready' in message) {
        this.booted = true;
        return;
      }
      for (const [id, result] of message.replies) {
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
    if (!this.booted) {
      this.switchToInProcess(error);
      return;
    }
    this.failPending(`network error: sender thread failed (${error.message})`);
    this.onThreadFailure(error, false);
    // Requests of this turn not yet handed over go to the next thread.
    if (this.outbox.length > 0) setImmediate(this.flush);
  }

  /** The thread never started, so none of its requests was sent: all go to the in-process sender. */
  private switchToInProcess(error: Error): void {
    const sender = this.fallback();
    this.inProcess = sender;
    this.onThreadFailure(error, true);
    const waiting = [...this.pending.values()];
    this.pending.clear();
    this.outbox = [];
    for (const { request, resolve, started } of waiting) {
      const [, url, headers, body, signing] = request;
      sender
        .send(url, headers, body, signing)
        .then(resolve, (sendError: unknown) =>
          resolve(
            networkError(
              `network error: ${String(sendError)}`,
              Math.round(performance.now() - started),
            ),
          ),
        );
    }
  }

  /** Ends every attempt handed to a thread; those still in the outbox wait for the next one. */
  private failPending(message: string): void {
    const waiting = new Set(this.outbox.map(([id]) => id));
    const now = performance.now();
    for (const [id, entry] of this.pending) {
      if (waiting.has(id)) continue;
      this.pending.delete(id);
      entry.resolve(networkError(message, Math.round(now - entry.started)));
    }
  }

  /** Lets the thread finish its attempts (bounded), then stops it. */
  async close(): Promise<void> {
    if (this.inProcess !== undefined) {
      this.closed = true;
      return this.inProcess.close();
    }
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
