import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { MappingSchema } from '../../inbound/mapping.js';
import * as mappings from '../../inbound/mappings.js';
import * as replay from '../../inbound/replay.js';
import * as service from '../../inbound/sources.js';
import type { ServiceContext } from '../../platform/context.js';
import { listOrder, requireOrg } from '../access.js';
import {
  DateTime,
  errorResponses,
  ListQuery,
  ListResponse,
  NoContent,
  Nullable,
} from '../schemas/common.js';
import {
  BulkReplayIn,
  BulkReplayOut,
  InboundEventDetailOut,
  InboundEventOut,
  InboundEventStatus,
  IngestSourceIn,
  IngestSourceOut,
  ReplayOut,
  RotateTokenOut,
  toInboundEventDetailOut,
  toInboundEventOut,
  toIngestSourceOut,
} from '../schemas/sources.js';

const SourceParams = Type.Object({ source_id: Type.String({ minLength: 1, maxLength: 60 }) });
const EventParams = Type.Object({
  source_id: Type.String({ minLength: 1, maxLength: 60 }),
  event_id: Type.String({ minLength: 1, maxLength: 64 }),
});
const tags = ['Ingest Source'];

export interface IngestRouteOptions {
  ctx: ServiceContext;
  /** Called after a source changes, so the receiving path drops what it cached. */
  onSourceChange: () => void;
}

/**
 * The Svix Ingest management API under `/ingest/api/v1` (sources), plus Switchboard's inbound
 * event log. Sources hold provider secrets and ingest URLs: organisation keys only.
 */
export const ingestRoutes: FastifyPluginAsyncTypebox<IngestRouteOptions> = async (
  app,
  { ctx, onSourceChange },
) => {
  app.addHook('onRequest', async (request) => requireOrg(request));

  app.get(
    '/source',
    {
      schema: {
        tags,
        summary: 'List ingest sources',
        querystring: Type.Object(ListQuery),
        response: { 200: ListResponse(IngestSourceOut, 'IngestSourceOut'), ...errorResponses },
      },
    },
    async (request) => {
      const { limit = 50, iterator, order } = request.query;
      const page = await service.listSources(ctx, {
        limit,
        iterator,
        order: listOrder(order, 'desc'),
      });
      return { ...page, data: page.data.map(toIngestSourceOut) };
    },
  );

  app.post(
    '/source',
    {
      schema: {
        tags,
        summary: 'Create an ingest source',
        body: IngestSourceIn,
        response: { 201: IngestSourceOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { source } = await service.createSource(ctx, request.body);
      return reply.code(201).send(toIngestSourceOut(source));
    },
  );

  app.get(
    '/source/:source_id',
    {
      schema: {
        tags,
        summary: 'Get an ingest source',
        params: SourceParams,
        response: { 200: IngestSourceOut, ...errorResponses },
      },
    },
    async (request) => toIngestSourceOut(await service.getSource(ctx, request.params.source_id)),
  );

  app.put(
    '/source/:source_id',
    {
      schema: {
        tags,
        summary: 'Update an ingest source, or create it',
        params: SourceParams,
        body: IngestSourceIn,
        response: { 200: IngestSourceOut, 201: IngestSourceOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const result = await service.upsertSource(ctx, request.params.source_id, request.body);
      onSourceChange();
      return reply.code(result.created ? 201 : 200).send(toIngestSourceOut(result.source));
    },
  );

  app.delete(
    '/source/:source_id',
    {
      schema: {
        tags,
        summary: 'Delete an ingest source',
        params: SourceParams,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await service.deleteSource(ctx, request.params.source_id);
      onSourceChange();
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/source/:source_id/token/rotate',
    {
      schema: {
        tags,
        summary: 'Rotate the ingest token (the previous one stays valid for 48 hours)',
        params: SourceParams,
        response: { 200: RotateTokenOut, ...errorResponses },
      },
    },
    async (request) => {
      const { ingestUrl } = await service.rotateSourceToken(ctx, request.params.source_id);
      onSourceChange();
      return { ingestUrl };
    },
  );

  app.get(
    '/source/:source_id/event',
    {
      schema: {
        tags: ['Inbound Event'],
        summary: "List a source's received events (newest first)",
        params: SourceParams,
        querystring: Type.Object({
          ...ListQuery,
          status: Type.Optional(InboundEventStatus),
          eventType: Type.Optional(
            Type.String({ minLength: 1, maxLength: 256, description: "The provider's event type" }),
          ),
          since: Type.Optional(DateTime),
          until: Type.Optional(DateTime),
        }),
        response: { 200: ListResponse(InboundEventOut, 'InboundEventOut'), ...errorResponses },
      },
    },
    async (request) => {
      const { limit = 50, iterator, order, status, eventType, since, until } = request.query;
      const page = await replay.listEvents(ctx, request.params.source_id, {
        limit,
        iterator,
        order: listOrder(order, 'desc'),
        statuses: status ? [status] : undefined,
        eventType,
        since: timeOf(since),
        until: timeOf(until),
      });
      return { ...page, data: page.data.map(toInboundEventOut) };
    },
  );

  app.get(
    '/source/:source_id/event/:event_id',
    {
      schema: {
        tags: ['Inbound Event'],
        summary: 'Get a received event with its raw request and its deliveries',
        params: EventParams,
        response: { 200: InboundEventDetailOut, ...errorResponses },
      },
    },
    async (request) => {
      const { event, destinations } = await replay.getEventWithDestinations(
        ctx,
        request.params.source_id,
        request.params.event_id,
      );
      return toInboundEventDetailOut(event, destinations);
    },
  );

  app.post(
    '/source/:source_id/event/:event_id/replay',
    {
      schema: {
        tags: ['Inbound Event'],
        summary: "Replay an event through the source's current mapping and endpoints",
        params: EventParams,
        response: { 200: ReplayOut, ...errorResponses },
      },
    },
    async (request) => replay.replayEvent(ctx, request.params.source_id, request.params.event_id),
  );

  app.post(
    '/source/:source_id/event/replay',
    {
      schema: {
        tags: ['Inbound Event'],
        summary: "Replay a source's events matching a filter (oldest first)",
        params: SourceParams,
        body: BulkReplayIn,
        response: { 200: BulkReplayOut, ...errorResponses },
      },
      // No body at all means the defaults (a JSON body must still be an object).
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request) => {
      const { status, eventType, since, until, limit } = request.body;
      return replay.replayEvents(ctx, request.params.source_id, {
        status,
        eventType,
        since: timeOf(since),
        until: timeOf(until),
        limit,
      });
    },
  );

  // --- mapping ---

  app.get(
    '/source/:source_id/mapping',
    {
      schema: {
        tags: ['Inbound Mapping'],
        summary: "Get a source's mapping (null when it has none)",
        params: SourceParams,
        response: { 200: Nullable(MappingSchema), ...errorResponses },
      },
    },
    async (request, reply) =>
      sendJson(reply, await mappings.getSourceMapping(ctx, request.params.source_id)),
  );

  app.put(
    '/source/:source_id/mapping',
    {
      schema: {
        tags: ['Inbound Mapping'],
        summary: "Set a source's mapping (event types, lookups, payload projection)",
        params: SourceParams,
        body: MappingSchema,
        response: { 200: MappingSchema, ...errorResponses },
      },
      // The body is checked by validateMapping, whose messages say more than the schema's.
      attachValidation: true,
    },
    async (request, reply) => {
      const failed = request.validationError;
      if (failed && (failed as { validationContext?: string }).validationContext !== 'body') {
        throw failed;
      }
      const mapping = mappings.checkMapping(request.body as unknown);
      const result = await mappings.setSourceMapping(ctx, request.params.source_id, mapping, {
        onChange: onSourceChange,
      });
      return sendJson(reply, result.mapping);
    },
  );

  app.delete(
    '/source/:source_id/mapping',
    {
      schema: {
        tags: ['Inbound Mapping'],
        summary: "Remove a source's mapping (events are forwarded as received)",
        params: SourceParams,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await mappings.setSourceMapping(ctx, request.params.source_id, null, {
        onChange: onSourceChange,
      });
      return reply.code(204).send(null);
    },
  );
};

/** An ISO time from the query or body (validated as date-time by the schema) → epoch ms. */
function timeOf(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * A mapping as the exact JSON stored (the serializer would drop nothing, but a mapping's
 * `const` and table values are arbitrary JSON: sent as they are).
 */
function sendJson(reply: FastifyReply, value: unknown) {
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(value ?? null));
}
