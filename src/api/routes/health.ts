import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../platform/context.js';
import type { Metrics } from '../../platform/metrics.js';

const HealthOut = Type.Object(
  {
    database: Type.Object({ status: Type.String() }),
    queue: Type.Object({ status: Type.String() }),
    cache: Type.Object({ status: Type.String() }),
  },
  { title: 'HealthOut' },
);

/** Probes and metrics: no authentication, so orchestrators and scrapers can reach them. */
export const healthRoutes: FastifyPluginAsyncTypebox<{
  ctx: ServiceContext;
  metrics: Metrics;
  readinessChecks: (() => Promise<void>)[];
}> = async (app, { ctx, metrics, readinessChecks }) => {
  async function databaseUp(): Promise<boolean> {
    try {
      await ctx.db.get('SELECT 1 AS ok');
      return true;
    } catch {
      return false;
    }
  }

  async function queueUp(): Promise<boolean> {
    try {
      for (const check of readinessChecks) await check();
      return true;
    } catch {
      return false;
    }
  }

  app.get(
    '/api/v1/health',
    {
      schema: {
        tags: ['Health'],
        summary: 'Health (Svix-compatible)',
        security: [],
        response: { 200: HealthOut, 500: HealthOut },
      },
    },
    async (_request, reply) => {
      const [database, queue] = await Promise.all([databaseUp(), queueUp()]);
      const status = (ok: boolean) => ({ status: ok ? 'ok' : 'error' });
      return reply
        .code(database && queue ? 200 : 500)
        .send({ database: status(database), queue: status(queue), cache: status(true) });
    },
  );

  app.get('/api/v1/health/ping', { schema: { hide: true } }, async (_request, reply) =>
    reply.code(204).send(),
  );

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const [database, queue] = await Promise.all([databaseUp(), queueUp()]);
    return reply.code(database && queue ? 200 : 503).send({
      status: database && queue ? 'ready' : 'not ready',
      database: database ? 'ok' : 'unreachable',
      queue: queue ? 'ok' : 'stuck',
    });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .header('content-type', metrics.registry.contentType)
      .send(await metrics.registry.metrics()),
  );
};
