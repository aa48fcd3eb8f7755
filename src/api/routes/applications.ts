import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import * as service from '../../outbound/applications.js';
import type { ServiceContext } from '../../platform/context.js';
import { listOrder, requireAppAccess, requireOrg } from '../access.js';
import {
  ApplicationIn,
  ApplicationOut,
  ApplicationPatch,
  throttleRateOf,
  toApplicationOut,
} from '../schemas/applications.js';
import { errorResponses, ListQuery, ListResponse, NoContent } from '../schemas/common.js';

const AppParams = Type.Object({ app_id: Type.String({ minLength: 1 }) });
const tags = ['Application'];

export const applicationRoutes: FastifyPluginAsyncTypebox<{ ctx: ServiceContext }> = async (
  app,
  { ctx },
) => {
  app.get(
    '/app',
    {
      schema: {
        tags,
        summary: 'List applications',
        querystring: Type.Object(ListQuery),
        response: { 200: ListResponse(ApplicationOut, 'ApplicationOut'), ...errorResponses },
      },
    },
    async (request) => {
      const { limit = 50, iterator, order } = request.query;
      if (request.principal.kind === 'app') {
        // An application key lists exactly its own application.
        const own = await service.getApplication(ctx, request.principal.appId);
        return {
          data: [toApplicationOut(own)],
          iterator: own.id,
          prevIterator: `-${own.id}`,
          done: true,
        };
      }
      const page = await service.listApplications(ctx, {
        limit,
        iterator,
        order: listOrder(order, 'asc'),
      });
      return { ...page, data: page.data.map(toApplicationOut) };
    },
  );

  app.post(
    '/app',
    {
      schema: {
        tags,
        summary: 'Create an application',
        querystring: Type.Object({
          get_if_exists: Type.Optional(Type.Boolean({ default: false })),
        }),
        body: ApplicationIn,
        response: { 200: ApplicationOut, 201: ApplicationOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      requireOrg(request);
      const { app: created, created: isNew } = await service.createApplication(
        ctx,
        { ...request.body, throttleRate: throttleRateOf(request.body) },
        { getIfExists: request.query.get_if_exists },
      );
      return reply.code(isNew ? 201 : 200).send(toApplicationOut(created));
    },
  );

  app.get(
    '/app/:app_id',
    {
      schema: {
        tags,
        summary: 'Get an application',
        params: AppParams,
        response: { 200: ApplicationOut, ...errorResponses },
      },
    },
    async (request) => {
      const found = await service.getApplication(ctx, request.params.app_id);
      requireAppAccess(request, found.id);
      return toApplicationOut(found);
    },
  );

  app.put(
    '/app/:app_id',
    {
      schema: {
        tags,
        summary: 'Update an application, or create it',
        params: AppParams,
        body: ApplicationIn,
        response: { 200: ApplicationOut, 201: ApplicationOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      requireOrg(request);
      const result = await service.upsertApplication(ctx, request.params.app_id, {
        ...request.body,
        throttleRate: throttleRateOf(request.body),
      });
      return reply.code(result.created ? 201 : 200).send(toApplicationOut(result.app));
    },
  );

  app.patch(
    '/app/:app_id',
    {
      schema: {
        tags,
        summary: 'Patch an application',
        params: AppParams,
        body: ApplicationPatch,
        response: { 200: ApplicationOut, ...errorResponses },
      },
    },
    async (request) => {
      requireOrg(request);
      const patched = await service.patchApplication(ctx, request.params.app_id, {
        ...request.body,
        throttleRate: throttleRateOf(request.body),
      });
      return toApplicationOut(patched);
    },
  );

  app.delete(
    '/app/:app_id',
    {
      schema: {
        tags,
        summary: 'Delete an application',
        params: AppParams,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      requireOrg(request);
      await service.deleteApplication(ctx, request.params.app_id);
      return reply.code(204).send(null);
    },
  );
};
