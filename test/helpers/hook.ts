import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the hook received it: the exact body bytes, headers flattened. */
export interface Hit {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface HookAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface Hook {
  server: Server;
  /** Base URL, without a path: tests add one per endpoint and tell hits apart by it. */
  url: string;
  hits: Hit[];
  /** The hits at one path, in arrival order. */
  hitsAt(path: string): Hit[];
  /** Drops open connections (held requests too) and stops listening. */
  close(): Promise<void>;
}

/**
 * A node:http receiver on 127.0.0.1 that keeps every request's exact bytes and headers, for
 * checking what a forwarder sent byte for byte. Unlike `Receiver` (receiver.ts), which counts
 * webhook-ids and timing for delivery statistics, it answers each request with `answer(hit)`
 * (default: 204, no body), which may hold it open by resolving later.
 */
export async function startHook(
  /** May resolve later: the request is held open until then. */
  answer: (hit: Hit) => HookAnswer | Promise<HookAnswer> = () => ({ status: 204 }),
): Promise<Hook> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const hit = { path: req.url ?? '', headers: flat(req.headers), body: Buffer.concat(chunks) };
      hits.push(hit);
      Promise.resolve(answer(hit)).then(
        ({ status, headers, body }) => res.writeHead(status, headers).end(body),
        () => res.destroy(),
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    hits,
    hitsAt: (path) => hits.filter((hit) => hit.path === path),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Request headers as signature verifiers take them (repeated headers joined). */
export function flat(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
