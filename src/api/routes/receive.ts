import { pipeline, Transform } from 'node:stream';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.js';
import { type ActiveSource, Receiver } from '../../inbound/receiver.js';
import { MAX_BODY_BYTES_LIMIT } from '../../inbound/sources.js';

declare module 'fastify' {
  interface FastifyRequest {
    inboundSource?: ActiveSource;
  }
}

const tooLarge = () => new AppError(413, 'payload_too_large', 'Request payload is too large.');

/** Passes the body through, failing with 413 as soon as it grows past `limit` bytes. */
function limitStream(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > limit) callback(tooLarge());
      else callback(null, chunk);
    },
  });
}

/**
 * The public receiving route `/in/{token}`, outside the authenticated scope. The token is the
 * credential: an unknown one answers 404 `{}` before any of the body is read. Bodies of any
 * content type are kept as the exact bytes (a Buffer), within the source's own limit.
 * Registered as an encapsulated plugin, so its parsers leave the JSON API untouched.
 */
export const receiveRoutes: FastifyPluginAsync<{ receiver: Receiver }> = async (
  app,
  { receiver },
) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => {
    done(null, body);
  });

  app.route<{ Params: { token: string } }>({
    method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/in/:token',
    bodyLimit: MAX_BODY_BYTES_LIMIT,
    // Not part of the management API's OpenAPI document: the token is the only credential.
    schema: { hide: true },
    onRequest: async (request, reply) => {
      const source = await receiver.resolve(request.params.token);
      if (!source) return reply.code(404).header('connection', 'close').send({});
      request.inboundSource = source;
    },
    preParsing: async (request: FastifyRequest, _reply, payload) => {
      const source = request.inboundSource;
      if (!source) return payload;
      const declared = Number(request.headers['content-length']);
      if (Receiver.tooLarge(source, Number.isNaN(declared) ? 0 : declared)) throw tooLarge();
      // Fastify answers 415 to a content type it cannot parse (`""`, `;;;`, `a, b`) before any
      // parser runs; here every body is bytes whatever its type, and a sender's odd header must
      // not lose a signed webhook. Parsing sees a neutral type; the receiver and the stored
      // request keep the headers exactly as they arrived (`rawHeaders`).
      if (request.headers['content-type'] !== undefined) {
        request.headers = { ...request.headers, 'content-type': 'application/octet-stream' };
      }
      // pipeline: a client that aborts mid-body ends the limited stream with an error too.
      return pipeline(payload, limitStream(source.settings.maxBodyBytes), () => {});
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
