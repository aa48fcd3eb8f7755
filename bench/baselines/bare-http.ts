/**
 * Inbound baseline (the ceiling): a bare `node:http` server that reads the whole body and
 * answers 200 `{}` — no verification, no storage. Same load generator, same requests as
 * Switchboard's `/in/{token}`. Any path is accepted.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveIpc } from '../lib/ipc.js';

let received = 0;
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    Buffer.concat(chunks);
    received++;
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end('{}');
  });
});
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  serveIpc({ count: () => received }, { url: `http://127.0.0.1:${port}`, pid: process.pid });
});
