import type { FastifyServerOptions } from 'fastify';

/** Ingest URLs carry their secret token in the path (`/in/{token}`): never log it. */
export function redactUrl(url: string): string {
  return url.replace(/^\/in\/[^/?#]+/, '/in/[redacted]');
}

/**
 * pino options for Fastify: JSON lines, a request id on every line, and nothing secret —
 * request headers are not logged at all (Authorization, provider signatures), URLs are redacted.
 */
export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.token', '*.secret', '*.key'],
      censor: '[redacted]',
    },
    serializers: {
      req(request: { method: string; url: string; id: string; ip?: string }) {
        return {
          method: request.method,
          url: redactUrl(request.url),
          id: request.id,
          ip: request.ip,
        };
      },
    },
  };
}
