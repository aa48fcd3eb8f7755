import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { AppId, EndpointId } from '../../core/ids.js';
import { requireApplication } from '../../outbound/applications.js';
import * as service from '../../outbound/endpoints.js';
import type { OperationalEvents } from '../../outbound/operational-events.js';
import type { ServiceContext } from '../../platform/context.js';
import { listOrder, requireAppAccess } from '../access.js';
import { throttleRateOf } from '../schemas/applications.js';
import { errorResponses, ListResponse, NoContent } from '../schemas/common.js';
import {
  AppParams,
  EndpointHeadersIn,
  EndpointHeadersOut,
  EndpointHeadersPatchIn,
  EndpointIn,
  EndpointListQuery,
  EndpointOut,
  EndpointParams,
  EndpointPatch,
  EndpointSecretOut,
  EndpointSecretRotateIn,
  EndpointUpsertIn,
  eventTypesOf,
  toEndpointOut,
} from '../schemas/endpoints.js';

const tags = ['Endpoint'];

/** Both aliases folded into the canonical fields. */
function aliasesOf<
  T extends {
    throttleRate?: number | null;
    rateLimit?: number | null;
    eventTypes?: string[] | null;
    filterTypes?: string[] | null;
  },
>(body: T) {
  const { rateLimit: _rateLimit, filterTypes: _filterTypes, ...rest } = body;
  return { ...rest, throttleRate: throttleRateOf(body), eventTypes: eventTypesOf(body) };
}

export const endpointRoutes: FastifyPluginAsyncTypebox<{
  ctx: ServiceContext;
  /** Sends `endpoint.created/updated/deleted` operational webhooks; none when absent. */
  operational?: OperationalEvents;
}> = async (app, { ctx, operational }) => {
  /**
   * The operational webhook of a change that is already committed: a failure to queue it is
   * logged, it does not turn the caller's successful request into an error.
   */
  async function changed(
    request: FastifyRequest,
    kind: 'created' | 'updated' | 'deleted',
    appId: AppId,
    endpointId: EndpointId,
  ): Promise<void> {
    if (!operational) return;
    try {
      await operational.endpointChanged(kind, appId, endpointId);
    } catch (error) {
      request.log.error({ err: error, endpointId }, `endpoint.${kind} operational webhook lost`);
    }
  }

  /** `{app_id}` by id or uid; an application-scoped key only reaches its own application. */
  async function appOf(request: FastifyRequest & { params: { app_id: string } }): Promise<AppId> {
    const found = await requireApplication(ctx.db, request.params.app_id);
    requireAppAccess(request, found.id);
    return found.id;
  }

  app.get(
    '/app/:app_id/endpoint',
    {
      schema: {
        tags,
        summary: 'List endpoints',
        description: 'Newest first by default (`order=ascending` for oldest first).',
        params: AppParams,
        querystring: EndpointListQuery,
        response: { 200: ListResponse(EndpointOut, 'EndpointOut'), ...errorResponses },
      },
    },
    async (request) => {
      const appId = await appOf(request);
      const { limit = 50, iterator, order } = request.query;
      const page = await service.listEndpoints(ctx, appId, {
        limit,
        iterator,
        order: listOrder(order, 'desc'),
      });
      return { ...page, data: page.data.map(toEndpointOut) };
    },
  );

  app.post(
    '/app/:app_id/endpoint',
    {
      schema: {
        tags,
        summary: 'Create an endpoint',
        params: AppParams,
        body: EndpointIn,
        response: { 201: EndpointOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const appId = await appOf(request);
      const created = await service.createEndpoint(ctx, appId, aliasesOf(request.body));
      await changed(request, 'created', appId, created.id);
      return reply.code(201).send(toEndpointOut(created));
    },
  );

  app.get(
    '/app/:app_id/endpoint/:endpoint_id',
    {
      schema: {
        tags,
        summary: 'Get an endpoint',
        params: EndpointParams,
        response: { 200: EndpointOut, ...errorResponses },
      },
    },
    async (request) => {
      const appId = await appOf(request);
      return toEndpointOut(await service.getEndpoint(ctx, appId, request.params.endpoint_id));
    },
  );

  app.put(
    '/app/:app_id/endpoint/:endpoint_id',
    {
      schema: {
        tags,
        summary: 'Update an endpoint, or create it',
        params: EndpointParams,
        body: EndpointUpsertIn,
        response: { 200: EndpointOut, 201: EndpointOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const appId = await appOf(request);
      const result = await service.upsertEndpoint(
        ctx,
        appId,
        request.params.endpoint_id,
        aliasesOf(request.body),
      );
      await changed(request, result.created ? 'created' : 'updated', appId, result.endpoint.id);
      return reply.code(result.created ? 201 : 200).send(toEndpointOut(result.endpoint));
    },
  );

  app.patch(
    '/app/:app_id/endpoint/:endpoint_id',
    {
      schema: {
        tags,
        summary: 'Patch an endpoint',
        params: EndpointParams,
        body: EndpointPatch,
        response: { 200: EndpointOut, ...errorResponses },
      },
    },
    async (request) => {
      const appId = await appOf(request);
      const patched = await service.patchEndpoint(
        ctx,
        appId,
        request.params.endpoint_id,
        aliasesOf(request.body),
      );
      await changed(request, 'updated', appId, patched.id);
      return toEndpointOut(patched);
    },
  );

  app.delete(
    '/app/:app_id/endpoint/:endpoint_id',
    {
      schema: {
        tags,
        summary: 'Delete an endpoint',
        params: EndpointParams,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const appId = await appOf(request);
      const deleted = await service.deleteEndpoint(ctx, appId, request.params.endpoint_id);
      await changed(request, 'deleted', appId, deleted.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/app/:app_id/endpoint/:endpoint_id/secret',
    {
      schema: {
        tags,
        summary: "Get the endpoint's signing secret",
        description: 'For an ed25519 endpoint, the `whpk_` public key.',
        params: EndpointParams,
        response: { 200: EndpointSecretOut, ...errorResponses },
      },
    },
    async (request) => {
      const appId = await appOf(request);
      return { key: await service.getEndpointSecret(ctx, appId, request.params.endpoint_id) };
    },
  );

  app.post(
    '/app/:app_id/endpoint/:endpoint_id/secret/rotate',
    {
      schema: {
        tags,
        summary: "Rotate the endpoint's signing secret",
        description:
          'The old secret keeps signing for `gracePeriodSeconds` (default 24 h). At most 10 old secrets may be valid at once.',
        params: EndpointParams,
        body: EndpointSecretRotateIn,
        response: { 204: NoContent, ...errorResponses },
      },
      // The body is optional (the SDK sends `{}`): a bare POST rotates to a generated key.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      const appId = await appOf(request);
      const rotated = await service.rotateEndpointSecret(
        ctx,
        appId,
        request.params.endpoint_id,
        request.body,
      );
      await changed(request, 'updated', appId, rotated.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/app/:app_id/endpoint/:endpoint_id/headers',
    {
      schema: {
        tags,
        summary: "Get the endpoint's custom headers",
        description: 'Sensitive headers are not shown; their names are listed in `sensitive`.',
        params: EndpointParams,
        response: { 200: EndpointHeadersOut, ...errorResponses },
      },
    },
    async (request) => {
      const appId = await appOf(request);
      return service.getEndpointHeaders(ctx, appId, request.params.endpoint_id);
    },
  );

  app.put(
    '/app/:app_id/endpoint/:endpoint_id/headers',
    {
      schema: {
        tags,
        summary: "Replace the endpoint's custom headers",
        params: EndpointParams,
        body: EndpointHeadersIn,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const appId = await appOf(request);
      await service.setEndpointHeaders(
        ctx,
        appId,
        request.params.endpoint_id,
        request.body.headers,
      );
      return reply.code(204).send(null);
    },
  );

  app.patch(
    '/app/:app_id/endpoint/:endpoint_id/headers',
    {
      schema: {
        tags,
        summary: "Merge into the endpoint's custom headers",
        description: 'A `null` value, or a name in `deleteHeaders`, removes that header.',
        params: EndpointParams,
        body: EndpointHeadersPatchIn,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const appId = await appOf(request);
      await service.patchEndpointHeaders(ctx, appId, request.params.endpoint_id, {
        headers: request.body.headers ?? {},
        deleteHeaders: request.body.deleteHeaders,
      });
      return reply.code(204).send(null);
    },
  );
};
