import { isUtf8 } from 'node:buffer';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv, type Options as AjvOptions } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Receiver } from '../inbound/receiver.js';
import type { OperationalEvents } from '../outbound/operational-events.js';
import { type Authenticator, bearerToken } from '../platform/auth.js';
import type { ServiceContext } from '../platform/context.js';
import type { Metrics } from '../platform/metrics.js';
import { handleError, handleNotFound } from './errors.js';
import { registerIdempotency } from './idempotency.js';
import { applicationRoutes } from './routes/applications.js';
import { attemptRoutes } from './routes/attempts.js';
import { endpointRoutes } from './routes/endpoints.js';
import { eventTypeRoutes } from './routes/event-types.js';
import { healthRoutes } from './routes/health.js';
import { ingestRoutes } from './routes/ingest.js';
import { ingestEndpointRoutes } from './routes/ingest-endpoints.js';
import { messageRoutes } from './routes/messages.js';
import { operationalWebhookRoutes } from './routes/operational-webhooks.js';
import { receiveRoutes } from './routes/receive.js';
import { recoveryRoutes } from './routes/recovery.js';

export interface ApiDependencies {
  ctx: ServiceContext;
  auth: Authenticator;
  metrics: Metrics;
  operational: OperationalEvents;
  /** Extra readiness checks (e.g. the delivery queue is moving). */
  readinessChecks?: (() => Promise<void>)[];
  /** Serve `/api/v1` (false for delivery-only workers, which serve probes and metrics). */
  managementApi?: boolean;
  logger: FastifyBaseLogger;
}

function makeAjv(options: AjvOptions): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true, ...options });
  addFormats.default(ajv);
  return ajv;
}

/**
 * The HTTP application: public probes, then `/api/v1` behind bearer auth. Routes are
 * schema-first: one TypeBox schema validates the request and documents it in OpenAPI.
 */
export async function buildApi(deps: ApiDependencies): Promise<FastifyInstance> {
  const { ctx, metrics } = deps;
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: ctx.config.bodyLimitBytes,
    requestIdHeader: 'x-request-id',
    routerOptions: { ignoreTrailingSlash: true },
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Bodies are validated strictly (a number is not a string); query strings and path
  // parameters arrive as text and are coerced to the declared types.
  const bodyAjv = makeAjv({ coerceTypes: false, removeAdditional: false });
  const queryAjv = makeAjv({ coerceTypes: 'array', removeAdditional: false });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? bodyAjv.compile(schema) : queryAjv.compile(schema),
  );
  // The management API speaks JSON only; the inbound receiver registers its own parsers.
  app.removeContentTypeParser('text/plain');
  // JSON bodies must be valid UTF-8: decoding with replacement characters would store
  // something other than what the client sent. Parsing itself stays Fastify's (it refuses
  // `__proto__` and `constructor.prototype` keys).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes)) {
      done(
        Object.assign(new Error('The request body is not valid UTF-8.'), { statusCode: 400 }),
        undefined,
      );
      return;
    }
    parseJson(request, bytes.toString('utf8'), done);
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route };
    metrics.httpRequests.inc({
      ...labels,
      status_class: `${Math.floor(reply.statusCode / 100)}xx`,
    });
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Switchboard API',
        version: '1.0.0',
        description:
          'Self-hosted webhook gateway. The outbound management API is wire-compatible with the Svix v1 API.',
      },
      components: {
        securitySchemes: { HTTPBearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ HTTPBearer: [] }],
    },
  });

  await app.register(healthRoutes, { ctx, metrics, readinessChecks: deps.readinessChecks ?? [] });
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  if (deps.managementApi === false) return app;
  // The public receiving route: its own parsers (raw bytes, any content type) and body limit.
  const receiver = new Receiver(ctx, metrics);
  await app.register(receiveRoutes, { receiver });
  const authenticated = async (api: FastifyInstance) => {
    api.addHook('onRequest', async (request) => {
      request.principal = await deps.auth.authenticate(request.headers.authorization);
    });
    registerIdempotency(api, ctx.db, ctx.clock);
  };
  await app.register(
    async (api) => {
      await authenticated(api);
      await api.register(ingestRoutes, { ctx, onSourceChange: () => receiver.forget() });
      await api.register(ingestEndpointRoutes, { ctx });
    },
    { prefix: '/ingest/api/v1' },
  );
  await app.register(
    async (api) => {
      await authenticated(api);
      await api.register(applicationRoutes, { ctx });
      await api.register(eventTypeRoutes, { ctx });
      await api.register(endpointRoutes, { ctx, operational: deps.operational });
      await api.register(messageRoutes, { ctx });
      await api.register(attemptRoutes, { ctx });
      await api.register(recoveryRoutes, { ctx });
      await api.register(operationalWebhookRoutes, { ctx, operational: deps.operational });
    },
    { prefix: '/api/v1' },
  );
  return app;
}

export { bearerToken };
