import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, errors, request } from 'undici';
import { type AllowList, checkAddress, checkDestination } from './ssrf.js';
import { refusedOutcome, type SendResult } from './transports/types.js';

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
  send(url: string, headers: Record<string, string>, body: string): Promise<SendResult>;
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
  private readonly checked = new Map<string, string | null>();

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
      // The deadline runs from when the request is written, not from when it joined the
      // pool's queue: a busy receiver must not turn our own queueing into timeouts.
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      keepAliveTimeout: 30_000,
      connections: 64,
      pipelining: 1,
    });
  }

  async send(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const refusal = this.checkUrl(url);
    if (refusal !== null) return { ...refusedOutcome(refusal), durationMs: elapsed() };
    try {
      const response = await request(url, {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'user-agent': this.options.userAgent,
          accept: '*/*',
        },
        body,
        dispatcher: this.agent,
      });
      // bodyTimeout bounds the gap between chunks; this bounds the whole read (a receiver that
      // drips one byte every few seconds must not hold a delivery slot for minutes).
      const guard = setTimeout(
        () => response.body.destroy(new errors.BodyTimeoutError()),
        this.timeoutMs,
      );
      const excerpt = await readCapped(response.body, this.cap).finally(() => clearTimeout(guard));
      const retryAfter = response.headers['retry-after'];
      return {
        outcome: {
          kind: 'response',
          status: response.statusCode,
          retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : (retryAfter ?? null),
        },
        response: excerpt,
        statusCode: response.statusCode,
        durationMs: elapsed(),
      };
    } catch (error) {
      const cause = unwrap(error);
      if (cause instanceof RefusedError)
        return { ...refusedOutcome(cause.message), durationMs: elapsed() };
      const timedOut =
        cause instanceof errors.HeadersTimeoutError ||
        cause instanceof errors.BodyTimeoutError ||
        cause instanceof errors.ConnectTimeoutError;
      const message = timedOut
        ? `timeout: no response within ${this.timeoutMs} ms`
        : `network error: ${describe(cause)}`;
      return {
        outcome: { kind: timedOut ? 'timeout' : 'network-error', message },
        response: message,
        statusCode: 0,
        durationMs: elapsed(),
      };
    }
  }

  /**
   * The scheme rules, and the address rules for an IP-literal host (those never reach the
   * lookup hook): the refusal, or null. A pure function of the URL and the allow list (fixed
   * for the sender's life), so remembered per URL. Host names are still checked at every
   * connection, in the lookup hook, since DNS answers change.
   */
  private checkUrl(url: string): string | null {
    const known = this.checked.get(url);
    if (known !== undefined) return known;
    const destination = checkDestination(url, this.options.allowList);
    let refusal: string | null = null;
    if (!destination.ok) refusal = destination.reason;
    else if (isIP(destination.host) !== 0) {
      refusal = checkAddress(destination.host, this.options.allowList) ?? null;
    }
    if (this.checked.size >= CHECKED_URLS_MAX) this.checked.clear();
    this.checked.set(url, refusal);
    return refusal;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

const CHECKED_URLS_MAX = 10_000;

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

/** Reads at most `cap` bytes of a body, then drops the rest without buffering it. */
async function readCapped(
  body: AsyncIterable<Buffer> & { destroy(): void },
  cap: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < cap) {
      chunks.push(chunk.subarray(0, cap - size));
      size += Math.min(chunk.length, cap - size);
    }
    if (size >= cap) {
      body.destroy();
      break;
    }
  }
  const bytes = Buffer.concat(chunks);
  const text = bytes.toString('utf8');
  // Svix stores non-UTF-8 bodies as base64 so the attempt log stays valid JSON text.
  return Buffer.from(text, 'utf8').equals(bytes) ? text : bytes.toString('base64');
}
