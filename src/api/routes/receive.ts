import type { IncomingMessage } from 'node:http';
import type {
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import { AppError } from '../../core/errors.js';
import { type ActiveSource, Receiver } from '../../inbound/receiver.js';
import { MAX_BODY_BYTES_LIMIT } from '../../inbound/sources.js';

declare module 'fastify' {
  interface FastifyRequest {
    inboundSource?: ActiveSource;
  }
}

const tooLarge = () => new AppError(413, 'payload_too_large', 'Request payload is too large.');

type TokenRequest = FastifyRequest<{ Params: { token: string } }>;

/** A body being read: kept on the request stream, so its listeners are shared functions. */
interface BodyState {
  chunks: Buffer[];
  received: number;
  limit: number;
  done: (error: Error | null, body?: Buffer) => void;
}
const kBody = Symbol('switchboard.inboundBody');
type ReadingMessage = IncomingMessage & { [kBody]?: BodyState };

function stopReading(payload: ReadingMessage): BodyState | undefined {
  const state = payload[kBody];
  payload[kBody] = undefined;
  payload.removeListener('data', onBodyData);
  payload.removeListener('end', onBodyEnd);
  payload.removeListener('error', onBodyError);
  return state;
}

function onBodyData(this: ReadingMessage, chunk: Buffer): void {
  const state = this[kBody];
  if (state === undefined) return;
  state.received += chunk.length;
  if (state.received > state.limit) {
    stopReading(this);
    state.done(tooLarge());
    return;
  }
  state.chunks.push(chunk);
}

function onBodyEnd(this: ReadingMessage): void {
  const state = stopReading(this);
  // Always a copy: the body outlives the request and must not pin socket buffers.
  state?.done(null, Buffer.concat(state.chunks, state.received));
}

function onBodyError(this: ReadingMessage, error: Error & { statusCode?: number }): void {
  const state = stopReading(this);
  if (!(typeof error.statusCode === 'number' && error.statusCode >= 400)) error.statusCode = 400;
  state?.done(error);
}

/**
 * Reads the whole body as bytes, failing with 413 as soon as it grows past `limit` (nothing
 * beyond the limit is buffered). A client that aborts mid-body ends the request stream with an
 * error, which fails the parse. Plain listeners (shared functions, no closures per request),
 * no intermediate stream.
 */
function readBody(
  payload: ReadingMessage,
  limit: number,
  done: (error: Error | null, body?: Buffer) => void,
): void {
  payload[kBody] = { chunks: [], received: 0, limit, done };
  payload.on('data', onBodyData);
  payload.on('end', onBodyEnd);
  payload.on('error', onBodyError);
  payload.resume();
}

/**
 * Prepares a request of a live source before its body is read: the declared size against the
 * source's limit (413 before reading anything), then a content type Fastify will not refuse.
 */
function admit(request: TokenRequest, reply: FastifyReply, source: ActiveSource): Error | null {
  request.inboundSource = source;
  const headers = request.raw.headers;
  const declared = headers['content-length'];
  if (declared !== undefined && Receiver.tooLarge(source, Number(declared) || 0)) {
    reply.header('connection', 'close');
    return tooLarge();
  }
  // Fastify answers 415 to a content type it cannot parse (`""`, `;;;`, `a, b`) before any
  // parser runs; here every body is bytes whatever its type, and a sender's odd header must
  // not lose a signed webhook. Without a content type Fastify hands the body to the catch-all
  // parser as is; the receiver and the stored request keep the headers exactly as they arrived
  // (`rawHeaders`, which this does not touch).
  if (headers['content-type'] !== undefined) delete headers['content-type'];
  return null;
}

/**
 * The public receiving route `/in/{token}`, outside the authenticated scope. The token is the
 * credential: an unknown one answers 404 `{}` before any of the body is read. Bodies of any
 * content type are kept as the exact bytes (a Buffer), within the source's own limit.
 * Registered as an encapsulated plugin, so its parsers leave the JSON API untouched; the
 * route does the minimum per request: one hook (callback style, synchronous on a cache hit),
 * one parser reading plain `data` events, no schema.
 */
export const receiveRoutes: FastifyPluginAsync<{ receiver: Receiver }> = async (
  app,
  { receiver },
) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request, payload, done) => {
    readBody(payload, request.inboundSource?.settings.maxBodyBytes ?? 0, done);
  });

  app.route<{ Params: { token: string } }>({
    method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/in/:token',
    bodyLimit: MAX_BODY_BYTES_LIMIT,
    // Not part of the management API's OpenAPI document: the token is the only credential.
    schema: { hide: true },
    onRequest: (request, reply, done: HookHandlerDoneFunction) => {
      const token = request.params.token;
      const hit = receiver.cached(token);
      if (hit !== undefined) {
        done(admit(request, reply, hit) ?? undefined);
        return;
      }
      receiver.resolve(token).then(
        (source) => {
          if (!source) {
            reply.code(404).header('connection', 'close').send({});
            return;
          }
          done(admit(request, reply, source) ?? undefined);
        },
        (error: Error) => done(error),
      );
    },
    handler: async (request, reply) => {
      const source = request.inboundSource;
      if (!source) return reply.code(404).send({});
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const answer = await receiver.receive(source, {
        method: request.method,
        url: request.url,
        rawHeaders: request.raw.rawHeaders,
        body,
      });
      return reply.code(answer.status).headers(answer.headers).send(answer.body);
    },
  });
};
