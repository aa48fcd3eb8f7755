/**
 * The webhook receiver for the outbound and backlog scenarios, in a process of its own.
 * `node:http`, answers 200 to every POST, verifies nothing on the hot path: it counts, records
 * the arrival time, the `webhook-id` per endpoint URL (distinct
 * deliveries and duplicates) and, when the payload has an
 * `"emittedAt":<epoch ms>` field, the end-to-end latency (emit → arrival; both processes read
 * the same clock via performance.timeOrigin + performance.now()).
 *
 * IPC commands: reset, count, stats. Run by bench/run.ts only.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveIpc } from './lib/ipc.js';
import { nowMs, summarize } from './lib/stats.js';

const EMITTED_AT = /"emittedAt":(\d+(?:\.\d+)?)/;
const MAX_LATENCIES = 4_000_000;

let count = 0;
let firstAt = 0;
let lastAt = 0;
let withoutId = 0;
let ids = new Set<string>();
let latencies: number[] = [];
let trackIds = true;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const at = nowMs();
    count++;
    if (firstAt === 0) firstAt = at;
    lastAt = at;
    const id = req.headers['webhook-id'];
    if (typeof id !== 'string') withoutId++;
    // One delivery is one (message, endpoint): the endpoints differ by their query string.
    else if (trackIds) ids.add(`${id} ${req.url}`);
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    // Only the head of the payload is searched: the field is written first.
    const match = EMITTED_AT.exec(body.toString('latin1', 0, Math.min(body.length, 200)));
    if (match && latencies.length < MAX_LATENCIES) latencies.push(at - Number(match[1]));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' });
    res.end('{}');
  });
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  serveIpc(
    {
      reset(args: { trackIds?: boolean }) {
        count = 0;
        firstAt = 0;
        lastAt = 0;
        withoutId = 0;
        ids = new Set();
        latencies = [];
        trackIds = args.trackIds ?? true;
        return true;
      },
      count: () => ({ count, lastAt }),
      stats: () => ({
        count,
        distinct: trackIds ? ids.size : undefined,
        duplicates: trackIds ? count - withoutId - ids.size : undefined,
        withoutId,
        firstAt,
        lastAt,
        latency: summarize(latencies),
      }),
    },
    { url: `http://127.0.0.1:${port}/hook`, pid: process.pid },
  );
});
