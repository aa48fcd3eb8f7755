import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { toIso } from '../../core/time.js';
import { requireApplication } from '../../outbound/applications.js';
import * as service from '../../outbound/recovery.js';
import type { ServiceContext } from '../../platform/context.js';
import { requireAppAccess, requireOrg } from '../access.js';
import { DateTime, EventTypeName, errorResponses, Nullable } from '../schemas/common.js';
import { MessageOut, timeOf, toMessageOut } from '../schemas/messages.js';

const EndpointParams = Type.Object({
  app_id: Type.String({ minLength: 1 }),
  endpoint_id: Type.String({ minLength: 1 }),
});
const AppParams = Type.Object({ app_id: Type.String({ minLength: 1 }) });
const WindowIn = Type.Object(
  { since: DateTime, until: Type.Optional(Nullable(DateTime)) },
  { title: 'RecoverIn' },
);
const TaskOut = Type.Object(
  {
    id: Type.String(),
    status: Type.String(),
    task: Type.String(),
    updatedAt: DateTime,
    queued: Type.Integer({ description: 'Messages queued (Switchboard extension).' }),
  },
  { title: 'RecoverOut' },
);
const StatsQuery = Type.Object({ since: Type.Optional(DateTime), until: Type.Optional(DateTime) });
const EndpointStats = Type.Object(
  {
    success: Type.Integer(),
    pending: Type.Integer(),
    sending: Type.Integer(),
    fail: Type.Integer(),
    canceled: Type.Integer(),
  },
  { title: 'EndpointStats' },
);
const Rate = Nullable(Type.Number({ minimum: 0, maximum: 1 }));
const Latency = Nullable(Type.Integer({ minimum: 0 }));
const ApplicationStats = Type.Object(
  {
    since: DateTime,
    until: DateTime,
    messages: Type.Integer(),
    attempts: Type.Integer(),
    successes: Type.Integer(),
    failures: Type.Integer(),
    successRate: Rate,
    averageLatencyMs: Latency,
    byEventType: Type.Array(
      Type.Object({
        eventType: Type.String(),
        attempts: Type.Integer(),
        successes: Type.Integer(),
        failures: Type.Integer(),
        successRate: Rate,
        averageLatencyMs: Latency,
      }),
    ),
  },
  { title: 'ApplicationStats' },
);
const tags = ['Endpoint'];

function toTaskOut(task: service.TaskOut) {
  return { ...task, updatedAt: toIso(task.updatedAt) };
}

/** Recovery and testing: recover, replay-missing, send-example, endpoint and application stats. */
export const recoveryRoutes: FastifyPluginAsyncTypebox<{ ctx: ServiceContext }> = async (
  app,
  { ctx },
) => {
  async function appOf(request: Parameters<typeof requireAppAccess>[0], idOrUid: string) {
    const found = await requireApplication(ctx.db, idOrUid);
    requireAppAccess(request, found.id);
    return found;
  }

  // recover and replay-missing take the same window and answer the same task shape.
  const windowTasks = [
    ['recover', 'Re-send failed messages since a time', service.recoverEndpoint],
    ['replay-missing', 'Send the messages an endpoint never received', service.replayMissing],
  ] as const;
  for (const [path, summary, run] of windowTasks) {
    app.post(
      `/app/:app_id/endpoint/:endpoint_id/${path}`,
      {
        schema: {
          tags,
          summary,
          params: EndpointParams,
          body: WindowIn,
          response: { 202: TaskOut, ...errorResponses },
        },
      },
      async (request, reply) => {
        const found = await appOf(request, request.params.app_id);
        const task = await run(
          ctx,
          found.id,
          request.params.endpoint_id,
          Date.parse(request.body.since),
          timeOf(request.body.until ?? undefined),
        );
        return reply.code(202).send(toTaskOut(task));
      },
    );
  }

  app.post(
    '/app/:app_id/endpoint/:endpoint_id/send-example',
    {
      schema: {
        tags,
        summary: 'Send an example (or svix.ping test) event to one endpoint',
        params: EndpointParams,
        body: Type.Object(
          { eventType: EventTypeName, exampleIndex: Type.Optional(Type.Integer({ minimum: 0 })) },
          { title: 'EventExampleIn' },
        ),
        response: { 202: MessageOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      requireOrg(request);
      const found = await appOf(request, request.params.app_id);
      const created = await service.sendExample(
        ctx,
        found.id,
        request.params.endpoint_id,
        request.body.eventType,
        request.body.exampleIndex,
      );
      return reply
        .code(202)
        .send(toMessageOut(created.message, true, { payload: created.payload }));
    },
  );

  app.get(
    '/app/:app_id/endpoint/:endpoint_id/stats',
    {
      schema: {
        tags,
        summary: 'Endpoint stats',
        params: EndpointParams,
        querystring: StatsQuery,
        response: { 200: EndpointStats, ...errorResponses },
      },
    },
    async (request) => {
      const found = await appOf(request, request.params.app_id);
      return service.endpointStats(
        ctx,
        found.id,
        request.params.endpoint_id,
        timeOf(request.query.since),
        timeOf(request.query.until),
      );
    },
  );

  app.get(
    '/app/:app_id/stats',
    {
      schema: {
        tags: ['Application'],
        summary: 'Delivery stats of an application over a period (Switchboard extension)',
        params: AppParams,
        querystring: StatsQuery,
        response: { 200: ApplicationStats, ...errorResponses },
      },
    },
    async (request) => {
      const found = await appOf(request, request.params.app_id);
      const stats = await service.applicationStats(
        ctx,
        found.id,
        timeOf(request.query.since),
        timeOf(request.query.until),
      );
      return { ...stats, since: toIso(stats.since), until: toIso(stats.until) };
    },
  );
};
