import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { Agent, type Dispatcher, errors } from 'undici';
import { type DeliverySigning, deliverySignatureHeaders } from './signing.js';
import { type AllowList, checkAddress, checkDestination } from './ssrf.js';
import { type Outcome, refusedOutcome, type SendResult, unanswered } from './transports/types.js';

export interface SenderOptions {
  allowList: AllowList;
  /** Total time for one attempt, connect to last body byte. */
  timeoutMs?: number;
  /** How much of a response body is kept on the attempt. */
  responseCapBytes?: number;
  /** Injected in tests to simulate DNS answers (e.g. rebinding). */
  lookup?: typeof dnsLookup;
  userAgent: string;
}

/** Makes one webhook POST: in this thread (`WebhookSender`) or on a thread of its own (`ThreadedSender`). */
export interface Sender {
  /**
   * POSTs `body` with `headers`; with `signing`, signed too (the signature headers are made
   * where the request is, on the sender's thread, not on the event loop).
   */
  send(
    url: string,
    headers: Record<string, string>,
    body: string,
    signing?: DeliverySigning,
  ): Promise<SendResult>;
  /** Releases connections (and the thread); attempts under way are let finish, bounded. */
  close(): Promise<void>;
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * POSTs webhooks with undici: one keep-alive pool per origin, no redirects, a hard deadline,
 * a capped body read. The SSRF guard sits in the connector's DNS lookup: every address a host
 * resolves to is checked, and the socket connects to the address that was checked — a second
 * resolution (DNS rebinding) never happens between check and connect.
 */
export class WebhookSender implements Sender {
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly cap: number;
  /** Per URL: where to send, or why not (see `checkUrl`). */
  private readonly checked = new Map<string, Destination | string>();
  /** Attempts under way, for the whole-attempt deadline (see `sweep`). */
  private readonly deadlines = new Set<Attempt>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly options: SenderOptions) {
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.cap = options.responseCapBytes ?? 16 * 1024;
    const resolve = options.lookup ?? dnsLookup;
    const allowList = options.allowList;
    const guardedLookup = (
      hostname: string,
      lookupOptions: LookupOptions,
      callback: LookupCallback,
    ) => {
      resolve(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
        if (error) return callback(error, []);
        const list = addresses as LookupAddress[];
        for (const entry of list) {
          const refusal = checkAddress(entry.address, allowList);
          if (refusal) return callback(new RefusedError(refusal), []);
        }
        const first = list[0];
        if (!first)
          return callback(
            Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }),
            [],
          );
        if (lookupOptions.all) return callback(null, [first]);
        return callback(null, first.address, first.family);
      });
    };
    this.agent = new Agent({
      connect: { lookup: guardedLookup as never, timeout: this.timeoutMs },
      // These two run from when the request is written; the whole-attempt deadline (`sweep`)
      // runs from the hand-over, the wait for one of the 64 connections included, so that a
      // slow receiver cannot hold a delivery slot for longer than the timeout.
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      keepAliveTimeout: 30_000,
      connections: 64,
      pipelining: 1,
    });
  }

  send(
    url: string,
    headers: Record<string, string>,
    body: string,
    signing?: DeliverySigning,
  ): Promise<SendResult> {
    const started = performance.now();
    const target = this.checkUrl(url);
    if (typeof target === 'string') {
      return Promise.resolve({
        ...refusedOutcome(target),
        durationMs: Math.round(performance.now() - started),
      });
    }
    let requestHeaders: Record<string, string>;
    try {
      requestHeaders = {
        ...headers,
        ...(signing && deliverySignatureHeaders(signing, body)),
        'content-type': 'application/json',
        'user-agent': this.options.userAgent,
        accept: '*/*',
      };
    } catch (error) {
      // A key that cannot sign (stored corrupt): nothing is sent, and the attempt says why. It
      // fails like an unanswered one (retried on the schedule, then given up), here or on the
      // sender thread alike.
      const message = `not sent: the endpoint's signing key is unusable (${describe(error)})`;
      return Promise.resolve({
        ...unanswered('network-error', message),
        durationMs: Math.round(performance.now() - started),
      });
    }
    return new Promise((resolve) => {
      const attempt = new Attempt(started, this.cap, this.timeoutMs, resolve);
      this.deadlines.add(attempt);
      if (this.sweeper === undefined) {
        this.sweeper = setInterval(() => this.sweep(), DEADLINE_SWEEP_MS);
        this.sweeper.unref();
      }
      attempt.onSettled = () => this.deadlines.delete(attempt);
      this.agent.dispatch(
        { origin: target.origin, path: target.path, method: 'POST', headers: requestHeaders, body },
        attempt,
      );
    });
  }

  /**
   * headersTimeout and bodyTimeout bound the wait for the answer and the gaps between its
   * chunks; this bounds the whole attempt (a receiver that drips one byte every few seconds
   * must not hold a delivery slot for minutes). One timer for all attempts, not one each.
   */
  private sweep(): void {
    const now = performance.now();
    for (const attempt of this.deadlines) {
      if (now - attempt.started >= this.timeoutMs) attempt.expire();
    }
    if (this.deadlines.size === 0 && this.sweeper !== undefined) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /**
   * The scheme rules, and the address rules for an IP-literal host (those never reach the
   * lookup hook): the refusal, or null. A pure function of the URL and the allow list (fixed
   * for the sender's life), so remembered per URL. Host names are still checked at every
   * connection, in the lookup hook, since DNS answers change.
   */
  private checkUrl(url: string): Destination | string {
    const known = this.checked.get(url);
    if (known !== undefined) return known;
    const destination = checkDestination(url, this.options.allowList);
    let checked: Destination | string;
    if (!destination.ok) checked = destination.reason;
    else {
      const refusal =
        isIP(destination.host) !== 0 && checkAddress(destination.host, this.options.allowList);
      const parsed = new URL(url);
      checked = refusal || { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
    }
    if (this.checked.size >= CHECKED_URLS_MAX) this.checked.clear();
    this.checked.set(url, checked);
    return checked;
  }

  async close(): Promise<void> {
    await this.agent.close();
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}

const CHECKED_URLS_MAX = 10_000;
/** How often attempts past their whole-attempt deadline are looked for. */
const DEADLINE_SWEEP_MS = 250;

/** Where an allowed URL is sent: undici's dispatch takes the origin and the path apart. */
interface Destination {
  origin: string;
  path: string;
}

/**
 * One POST, as undici's dispatch handler: the status, a capped excerpt of the body and the
 * Retry-After header are all an attempt keeps, so the response is read from the connection's
 * callbacks directly, without the stream, promise and timer `undici.request` adds to every
 * request: about a third of the sender's CPU per request (docs/benchmarks.md, sixth round).
 */
class Attempt implements Dispatcher.DispatchHandler {
  onSettled: (() => void) | undefined;
  private controller: Dispatcher.DispatchController | undefined;
  private status = 0;
  private retryAfter: string | null = null;
  private chunks: Buffer[] = [];
  private size = 0;
  private done = false;
  /** Whether undici got it a connection and wrote it: a timeout says whether it was sent. */
  private written = false;

  constructor(
    readonly started: number,
    private readonly cap: number,
    private readonly timeoutMs: number,
    private readonly resolve: (result: SendResult) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Expired while queued for a connection: never written.
    if (this.done) controller.abort(new errors.RequestAbortedError());
    else this.written = true;
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    this.status = statusCode;
    const retryAfter = headers['retry-after'];
    this.retryAfter = Array.isArray(retryAfter) ? (retryAfter[0] ?? null) : (retryAfter ?? null);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.done) return;
    if (this.size < this.cap) {
      const kept =
        chunk.length <= this.cap - this.size ? chunk : chunk.subarray(0, this.cap - this.size);
      this.chunks.push(kept);
      this.size += kept.length;
    }
    // Enough kept: the rest is dropped unread (the connection with it).
    if (this.size >= this.cap) {
      this.answered();
      controller.abort(new errors.RequestAbortedError());
    }
  }

  onResponseEnd(): void {
    this.answered();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.done) return;
    const cause = unwrap(error);
    const timedOut =
      cause instanceof errors.HeadersTimeoutError ||
      cause instanceof errors.BodyTimeoutError ||
      cause instanceof errors.ConnectTimeoutError;
    if (cause instanceof RefusedError) this.settle(refusedOutcome(cause.message));
    else if (timedOut) this.timedOut();
    else this.settle(unanswered('network-error', `network error: ${describe(cause)}`));
  }

  /** The whole-attempt deadline passed (see `WebhookSender.sweep`). */
  expire(): void {
    if (this.done) return;
    this.timedOut();
    this.controller?.abort(new errors.BodyTimeoutError());
  }

  private timedOut(): void {
    this.settle(
      unanswered(
        'timeout',
        this.written
          ? `timeout: no response within ${this.timeoutMs} ms`
          : `timeout: not sent within ${this.timeoutMs} ms, every connection to the endpoint was busy`,
      ),
    );
  }

  private answered(): void {
    if (this.done) return;
    const bytes =
      this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    this.settle({
      outcome: { kind: 'response', status: this.status, retryAfter: this.retryAfter },
      response: excerptText(bytes),
      statusCode: this.status,
    });
  }

  private settle(outcome: Outcome): void {
    this.done = true;
    this.chunks = [];
    this.onSettled?.();
    this.resolve({ ...outcome, durationMs: Math.round(performance.now() - this.started) });
  }
}

class RefusedError extends Error {
  override name = 'RefusedError';
}

function unwrap(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5 && current instanceof Error && current.cause; depth++) {
    if (current instanceof RefusedError) return current;
    current = current.cause;
  }
  return current;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${code} ${error.message}` : error.message;
  }
  return String(error);
}

/** A body excerpt as text: Svix stores non-UTF-8 bodies as base64, so the log stays valid JSON text. */
function excerptText(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : bytes.toString('base64');
}
