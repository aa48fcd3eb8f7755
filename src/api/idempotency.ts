import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../core/time.js';
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  releaseIdempotencyKey,
  type StoredResponse,
} from '../store/idempotency.js';
import type { Database } from '../store/sql.js';

const TTL_MS = 12 * 60 * 60 * 1000;
const WAIT_FOR_FIRST_MS = 5_000;
const POLL_MS = 100;

declare module 'fastify' {
  interface FastifyRequest {
    idempotencyKey?: string;
  }
}

/**
 * `idempotency-key` on POST: the first 2xx answer is kept for 12 h and replayed byte for byte
 * to a repeat with the same key, token and URL, as Svix does. A repeat that arrives while the
 * first is still running waits for it (up to 5 s). Non-2xx answers are not kept.
 */
export function registerIdempotency(app: FastifyInstance, db: Database, clock: Clock): void {
  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers['idempotency-key'];
    if (request.method !== 'POST' || typeof header !== 'string' || header === '') return;
    const key = createHash('sha256')
      .update(`${request.headers.authorization ?? ''}\n${header}\n${request.url}`)
      .digest('hex');
    const deadline = clock() + WAIT_FOR_FIRST_MS;
    for (;;) {
      const claim = await claimIdempotencyKey(db, key, clock(), TTL_MS);
      if (claim === 'claimed') {
        request.idempotencyKey = key;
        return;
      }
      if (claim !== 'pending') return replay(reply, claim);
      if (clock() > deadline) return; // the first request is stuck: proceed, as Svix does
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const key = request.idempotencyKey;
    if (!key) return payload;
    request.idempotencyKey = undefined;
    if (reply.statusCode >= 200 && reply.statusCode < 300) {
      const body = typeof payload === 'string' ? payload : payload == null ? '' : String(payload);
      await completeIdempotencyKey(db, key, { status: reply.statusCode, body });
    } else {
      await releaseIdempotencyKey(db, key);
    }
    return payload;
  });

  // A request that died before onSend (client gone) must not leave its key claimed for 12 h.
  app.addHook('onResponse', async (request) => {
    if (request.idempotencyKey) await releaseIdempotencyKey(db, request.idempotencyKey);
  });
}

function replay(reply: FastifyReply, stored: StoredResponse) {
  reply.code(stored.status).header('idempotent-replayed', 'true');
  if (stored.body === '') return reply.send();
  return reply.header('content-type', 'application/json; charset=utf-8').send(stored.body);
}
