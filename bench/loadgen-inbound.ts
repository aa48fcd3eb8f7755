/**
 * Inbound load generator, in a process of its own: autocannon's programmatic API at a fixed
 * number of connections for a fixed time, every request a unique, validly signed GitHub
 * webhook (unique `X-GitHub-Delivery` and body, `X-Hub-Signature-256` computed per request in
 * `setupRequest`). The delivery ids of requests answered 2xx are written to a file, so the
 * harness can check every acknowledged webhook was stored.
 *
 * IPC command: run({url, connections, durationSec, secret, bodyBytes, ackFile}).
 */

import { createHmac, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { serveIpc } from './lib/ipc.js';

export interface InboundLoadArgs {
  url: string;
  connections: number;
  durationSec: number;
  secret: string;
  bodyBytes: number;
  /** Where to write the delivery ids answered 2xx, one per line. */
  ackFile?: string;
}

export interface InboundLoadResult {
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationSec: number;
  rps: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  statusCodes: Record<string, number>;
  acked: number;
  bodyBytes: number;
}

/** A GitHub `push`-like body of about `bytes` bytes, unique by delivery id and sequence. */
export function githubBody(delivery: string, seq: number, bytes: number): string {
  const head = {
    ref: 'refs/heads/main',
    before: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
    after: '0000000000000000000000000000000000000000',
    delivery,
    seq,
    repository: {
      id: 186853002,
      full_name: 'octo-org/switchboard-bench',
      private: false,
      owner: { login: 'octo-org', id: 6811672, type: 'Organization' },
      html_url: 'https://github.com/octo-org/switchboard-bench',
      default_branch: 'main',
    },
    pusher: { name: 'octocat', email: 'octocat@github.com' },
    sender: { login: 'octocat', id: 583231, type: 'User' },
    head_commit: {
      id: '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c',
      message: 'Update README.md',
      timestamp: '2026-11-29T12:00:00Z',
      author: { name: 'Mona Octocat', email: 'octocat@github.com', username: 'octocat' },
      added: [],
      removed: [],
      modified: ['README.md'],
    },
  };
  const text = JSON.stringify(head);
  const pad = Math.max(0, bytes - text.length - 10);
  return `${text.slice(0, -1)},"pad":"${'x'.repeat(pad)}"}`;
}

async function run(args: InboundLoadArgs): Promise<InboundLoadResult> {
  const url = new URL(args.url);
  const acked: string[] = [];
  let seq = 0;
  const result = await autocannon({
    url: args.url,
    connections: args.connections,
    duration: args.durationSec,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: url.pathname + url.search,
        setupRequest(request, context) {
          const delivery = randomUUID();
          const body = githubBody(delivery, seq++, args.bodyBytes);
          const signature = createHmac('sha256', args.secret).update(body).digest('hex');
          context.delivery = delivery;
          return {
            ...request,
            body,
            headers: {
              'content-type': 'application/json',
              'user-agent': 'GitHub-Hookshot/bench',
              'x-github-event': 'push',
              'x-github-delivery': delivery,
              'x-github-hook-id': '292430182',
              'x-hub-signature-256': `sha256=${signature}`,
            },
          };
        },
        onResponse(status, _body, context) {
          if (status >= 200 && status < 300) acked.push(context.delivery as string);
        },
      },
    ],
  });
  if (args.ackFile) writeFileSync(args.ackFile, acked.join('\n'));
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
    statusCodes[code] = stat.count;
  }
  return {
    ok2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationSec: result.duration,
    rps: result['2xx'] / result.duration,
    latencyMs: {
      mean: result.latency.mean,
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    statusCodes,
    acked: acked.length,
    bodyBytes: Buffer.byteLength(githubBody(randomUUID(), 0, args.bodyBytes)),
  };
}

serveIpc({ run }, { pid: process.pid });
