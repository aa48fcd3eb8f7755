import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ReceiverOptions {
  /** Time before answering, ms: a fixed value or a uniform [min, max] range. Default 0. */
  latencyMs?: number | readonly [number, number];
  /**
   * Share of requests (0–1) answered with `failureStatus`. Spread evenly and deterministically
   * over the arrival order (at 0.2, exactly one request in five fails), so a burst of failures
   * cannot happen by chance and trip a sender's circuit breaker.
   */
  failureRate?: number;
  /** Status of a failed request. Default 503. */
  failureStatus?: number;
}

/** One request, as the receiver saw it. Times are `performance.now()` of this process. */
export interface ReceivedRequest {
  /** The `webhook-id` header ('' if absent). */
  id: string;
  status: number;
  /** When the request arrived. */
  start: number;
  /** When the exchange ended: the response was sent, or the connection dropped first. */
  end: number;
  body: string;
}

/**
 * A webhook receiver on 127.0.0.1 that runs in the test's own process, with configurable
 * latency and failure rate. It records every request with its interval, and the `webhook-id`
 * of every request it accepted (answered 2xx) — as a real receiver would have processed it,
 * even if the sender was gone before it read the answer.
 */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  /** webhook-id → how many times it was accepted. */
  readonly accepted = new Map<string, number>();
  private arrivals = 0;
  private open = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly options: ReceiverOptions,
  ) {}

  static async start(options: ReceiverOptions = {}): Promise<Receiver> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const receiver = new Receiver(server, `http://127.0.0.1:${port}/hook`, options);
    server.on('request', (req, res) => {
      receiver.handle(req, res).catch(() => res.destroy());
    });
    return receiver;
  }

  /** Requests that have arrived and not ended yet. */
  get inFlight(): number {
    return this.open;
  }

  /** Distinct webhook-ids accepted. */
  get distinct(): number {
    return this.accepted.size;
  }

  /** Acceptances beyond the first of each webhook-id: what at-least-once delivery costs. */
  get duplicates(): number {
    let total = 0;
    for (const count of this.accepted.values()) total += count;
    return total - this.accepted.size;
  }

  /**
   * Pairs of requests for the same webhook-id whose intervals overlap: the same message was
   * being delivered twice at once. With `startedBefore`, only requests that started before it.
   */
  overlaps(startedBefore = Number.POSITIVE_INFINITY): [ReceivedRequest, ReceivedRequest][] {
    const byId = new Map<string, ReceivedRequest[]>();
    for (const request of this.requests) {
      if (request.start >= startedBefore) continue;
      const list = byId.get(request.id) ?? [];
      list.push(request);
      byId.set(request.id, list);
    }
    const pairs: [ReceivedRequest, ReceivedRequest][] = [];
    for (const list of byId.values()) {
      list.sort((a, b) => a.start - b.start);
      for (let i = 0; i < list.length; i++) {
        for (let j = i + 1; j < list.length && list[j].start < list[i].end; j++) {
          pairs.push([list[i], list[j]]);
        }
      }
    }
    return pairs;
  }

  /** Resolves once `condition()` holds (checked every 20 ms); rejects after `timeoutMs`. */
  async waitFor(condition: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!condition()) {
      if (performance.now() > deadline) {
        throw new Error(
          `receiver: timed out after ${timeoutMs} ms waiting for ${what} ` +
            `(${this.distinct} distinct ids accepted, ${this.requests.length} requests)`,
        );
      }
      await sleep(20);
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close').catch(() => {});
  }

  private latency(): number {
    const latency = this.options.latencyMs ?? 0;
    if (typeof latency === 'number') return latency;
    const [min, max] = latency;
    return min + Math.random() * (max - min);
  }

  private fails(arrival: number): boolean {
    const rate = this.options.failureRate ?? 0;
    return Math.floor((arrival + 1) * rate) > Math.floor(arrival * rate);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const start = performance.now();
    const header = req.headers['webhook-id'];
    const id = typeof header === 'string' ? header : '';
    const status = this.fails(this.arrivals++) ? (this.options.failureStatus ?? 503) : 200;
    const record: ReceivedRequest = { id, status, start, end: Number.POSITIVE_INFINITY, body: '' };
    this.requests.push(record);
    this.open++;
    res.on('close', () => {
      record.end = performance.now();
      this.open--;
    });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    record.body = Buffer.concat(chunks).toString('utf8');
    await sleep(this.latency());
    if (status >= 200 && status < 300) {
      this.accepted.set(id, (this.accepted.get(id) ?? 0) + 1);
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(status >= 200 && status < 300 ? '{"ok":true}' : '{"ok":false}');
  }
}
