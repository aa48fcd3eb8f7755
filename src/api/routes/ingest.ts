import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import * as service from '../../inbound/sources.js';
import type { ServiceContext } from '../../platform/context.js';
import { listOrder, requireOrg } from '../access.js';
import { errorResponses, ListQuery, ListResponse, NoContent } from '../schemas/common.js';
import {
  InboundEventDetailOut,
  InboundEventOut,
  InboundEventStatus,
  IngestSourceIn,
  IngestSourceOut,
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
        querystring: Type.Object({ ...ListQuery, status: Type.Optional(InboundEventStatus) }),
        response: { 200: ListResponse(InboundEventOut, 'InboundEventOut'), ...errorResponses },
      },
    },
    async (request) => {
      const { limit = 50, iterator, order, status } = request.query;
      const page = await service.listSourceEvents(ctx, request.params.source_id, {
        limit,
        iterator,
        order: listOrder(order, 'desc'),
        status,
      });
      return { ...page, data: page.data.map(toInboundEventOut) };
    },
  );

  app.get(
    '/source/:source_id/event/:event_id',
    {
      schema: {
        tags: ['Inbound Event'],
        summary: 'Get a received event with its raw request',
        params: EventParams,
        response: { 200: InboundEventDetailOut, ...errorResponses },
      },
    },
    async (request) =>
      toInboundEventDetailOut(
        await service.getSourceEvent(ctx, request.params.source_id, request.params.event_id),
      ),
  );
};
