import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import * as service from '../../outbound/event-types.js';
import type { ServiceContext } from '../../platform/context.js';
import { listOrder, requireOrg } from '../access.js';
import { errorResponses, ListResponse, NoContent } from '../schemas/common.js';
import {
  EventTypeIn,
  EventTypeListQuery,
  EventTypeOut,
  EventTypeParams,
  EventTypePatch,
  EventTypeUpsertIn,
  EventTypeUpsertParams,
  featureFlagsOf,
  toEventTypeOut,
} from '../schemas/event-types.js';

const tags = ['Event Type'];

/**
 * Any key may read event types. Keys carry no feature flags, so an application-scoped key sees
 * only the event types without any (as a Svix app token without flags does).
 */
function visibility(request: FastifyRequest): service.EventTypeVisibility {
  return { withoutFeatureFlags: request.principal.kind === 'app' };
}

export const eventTypeRoutes: FastifyPluginAsyncTypebox<{ ctx: ServiceContext }> = async (
  app,
  { ctx },
) => {
  app.get(
    '/event-type',
    {
      schema: {
        tags,
        summary: 'List event types',
        description:
          'Ascending by name; the iterator is a name. Archived ones only with `include_archived`; schemas only with `with_content`.',
        querystring: EventTypeListQuery,
        response: { 200: ListResponse(EventTypeOut, 'EventTypeOut'), ...errorResponses },
      },
    },
    async (request) => {
      const { limit = 50, iterator, order, include_archived, with_content } = request.query;
      const page = await service.listEventTypes(ctx, {
        limit,
        iterator,
        order: listOrder(order, 'asc'),
        includeArchived: include_archived ?? false,
        ...visibility(request),
      });
      return {
        ...page,
        data: page.data.map((eventType) => toEventTypeOut(eventType, with_content ?? false)),
      };
    },
  );

  app.post(
    '/event-type',
    {
      schema: {
        tags,
        summary: 'Create an event type, or unarchive an archived one',
        body: EventTypeIn,
        response: { 201: EventTypeOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      requireOrg(request);
      const { name, ...body } = request.body;
      const created = await service.createEventType(ctx, name, {
        ...body,
        featureFlags: featureFlagsOf(body),
      });
      return reply.code(201).send(toEventTypeOut(created));
    },
  );

  app.get(
    '/event-type/:event_type_name',
    {
      schema: {
        tags,
        summary: 'Get an event type (archived ones too)',
        params: EventTypeParams,
        response: { 200: EventTypeOut, ...errorResponses },
      },
    },
    async (request) =>
      toEventTypeOut(
        await service.getEventType(ctx, request.params.event_type_name, visibility(request)),
      ),
  );

  app.put(
    '/event-type/:event_type_name',
    {
      schema: {
        tags,
        summary: 'Update an event type, or create it',
        params: EventTypeUpsertParams,
        body: EventTypeUpsertIn,
        response: { 200: EventTypeOut, 201: EventTypeOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      requireOrg(request);
      const result = await service.upsertEventType(ctx, request.params.event_type_name, {
        ...request.body,
        featureFlags: featureFlagsOf(request.body),
      });
      return reply.code(result.created ? 201 : 200).send(toEventTypeOut(result.eventType));
    },
  );

  app.patch(
    '/event-type/:event_type_name',
    {
      schema: {
        tags,
        summary: 'Patch an event type',
        params: EventTypeParams,
        body: EventTypePatch,
        response: { 200: EventTypeOut, ...errorResponses },
      },
    },
    async (request) => {
      requireOrg(request);
      const patched = await service.patchEventType(ctx, request.params.event_type_name, {
        ...request.body,
        featureFlags: featureFlagsOf(request.body),
      });
      return toEventTypeOut(patched);
    },
  );

  app.delete(
    '/event-type/:event_type_name',
    {
      schema: {
        tags,
        summary: 'Archive an event type (or delete it for good with `expunge=true`)',
        params: EventTypeParams,
        querystring: Type.Object({ expunge: Type.Optional(Type.Boolean({ default: false })) }),
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      requireOrg(request);
      await service.deleteEventType(
        ctx,
        request.params.event_type_name,
        request.query.expunge ?? false,
      );
      return reply.code(204).send(null);
    },
  );
};
