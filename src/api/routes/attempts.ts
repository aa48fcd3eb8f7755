import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { requireApplication } from '../../outbound/applications.js';
import * as service from '../../outbound/attempts.js';
import type { ServiceContext } from '../../platform/context.js';
import type { MessageStatus } from '../../store/deliveries.js';
import { requireAppAccess } from '../access.js';
import {
  AttemptedDestinationsQuery,
  AttemptedMessagesQuery,
  AttemptGetQuery,
  AttemptsByEndpointQuery,
  AttemptsByMessageQuery,
  MessageAttemptOut,
  MessageEndpointOut,
  toAttemptOut,
  toEndpointMessageOut,
  toMessageEndpointOut,
} from '../schemas/attempts.js';
import { errorResponses, ListResponse } from '../schemas/common.js';
import { EndpointMessageOut, eventTypesOf, timeOf } from '../schemas/messages.js';

const Id = Type.String({ minLength: 1 });
const EndpointParams = Type.Object({ app_id: Id, endpoint_id: Id });
const MessageParams = Type.Object({ app_id: Id, msg_id: Id });
const AttemptParams = Type.Object({ app_id: Id, msg_id: Id, attempt_id: Id });
const ResendParams = Type.Object({ app_id: Id, msg_id: Id, endpoint_id: Id });
const tags = ['Message Attempt'];

interface CommonQuery {
  limit?: number;
  iterator?: string | null;
  status?: number;
  channel?: string;
  tag?: string;
  before?: string;
  after?: string;
  with_content?: boolean;
  expanded_statuses?: boolean;
  event_types?: string[];
  'event_types[]'?: string[];
}

function filterOf(query: CommonQuery) {
  return {
    status: query.status as MessageStatus | undefined,
    channel: query.channel,
    tag: query.tag,
    eventTypes: eventTypesOf(query),
    withContent: query.with_content ?? true,
    expandedStatuses: query.expanded_statuses ?? false,
  };
}

function windowOf(query: CommonQuery) {
  return {
    limit: query.limit ?? 50,
    iterator: query.iterator,
    before: timeOf(query.before),
    after: timeOf(query.after),
  };
}

export const attemptRoutes: FastifyPluginAsyncTypebox<{ ctx: ServiceContext }> = async (
  app,
  { ctx },
) => {
  /** The path's application, which the caller's key must be allowed to see. */
  async function application(request: FastifyRequest, appIdOrUid: string) {
    const found = await requireApplication(ctx.db, appIdOrUid);
    requireAppAccess(request, found.id);
    return found;
  }

  app.get(
    '/app/:app_id/attempt/endpoint/:endpoint_id',
    {
      schema: {
        tags,
        summary: 'List attempts by endpoint',
        description: 'Newest first, searched in windows of 90 days as Svix does.',
        params: EndpointParams,
        querystring: AttemptsByEndpointQuery,
        response: { 200: ListResponse(MessageAttemptOut, 'MessageAttemptOut'), ...errorResponses },
      },
    },
    async (request) => {
      const found = await application(request, request.params.app_id);
      const query = request.query;
      const filter = {
        ...filterOf(query),
        statusCodeClass: query.status_code_class,
        withMsg: query.with_msg ?? false,
      };
      const page = await service.listAttemptsByEndpoint(
        ctx,
        found,
        request.params.endpoint_id,
        filter,
        windowOf(query),
      );
      return {
        ...page,
        data: page.data.map(({ attempt, message }) =>
          toAttemptOut(attempt, {
            withContent: filter.withContent,
            expanded: filter.expandedStatuses,
            msg: filter.withMsg ? message : undefined,
          }),
        ),
      };
    },
  );

  app.get(
    '/app/:app_id/attempt/msg/:msg_id',
    {
      schema: {
        tags,
        summary: 'List attempts by message',
        description: '`endpoint_id` (an id or uid) narrows the list to one endpoint.',
        params: MessageParams,
        querystring: AttemptsByMessageQuery,
        response: { 200: ListResponse(MessageAttemptOut, 'MessageAttemptOut'), ...errorResponses },
      },
    },
    async (request) => {
      const found = await application(request, request.params.app_id);
      const query = request.query;
      const filter = {
        ...filterOf(query),
        statusCodeClass: query.status_code_class,
        endpointId: query.endpoint_id,
      };
      const page = await service.listAttemptsByMessage(
        ctx,
        found,
        request.params.msg_id,
        filter,
        windowOf(query),
      );
      return {
        ...page,
        data: page.data.map(({ attempt }) =>
          toAttemptOut(attempt, {
            withContent: filter.withContent,
            expanded: filter.expandedStatuses,
          }),
        ),
      };
    },
  );

  app.get(
    '/app/:app_id/msg/:msg_id/attempt/:attempt_id',
    {
      schema: {
        tags,
        summary: 'Get an attempt',
        params: AttemptParams,
        querystring: AttemptGetQuery,
        response: { 200: MessageAttemptOut, ...errorResponses },
      },
    },
    async (request) => {
      const found = await application(request, request.params.app_id);
      const attempt = await service.getAttempt(
        ctx,
        found,
        request.params.msg_id,
        request.params.attempt_id,
      );
      return toAttemptOut(attempt, {
        withContent: true,
        expanded: request.query.expanded_statuses ?? false,
      });
    },
  );

  app.get(
    '/app/:app_id/msg/:msg_id/endpoint',
    {
      schema: {
        tags,
        summary: 'List attempted destinations',
        description:
          'The endpoints a message was queued for, ascending by id, with the state of the latest delivery.',
        params: MessageParams,
        querystring: AttemptedDestinationsQuery,
        response: {
          200: ListResponse(MessageEndpointOut, 'MessageEndpointOut'),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const found = await application(request, request.params.app_id);
      const page = await service.listAttemptedDestinations(ctx, found, request.params.msg_id, {
        limit: request.query.limit ?? 50,
        iterator: request.query.iterator,
      });
      return {
        ...page,
        data: page.data.map(({ endpoint, delivery }) => toMessageEndpointOut(endpoint, delivery)),
      };
    },
  );

  app.get(
    '/app/:app_id/endpoint/:endpoint_id/msg',
    {
      schema: {
        tags,
        summary: 'List attempted messages',
        description:
          'The messages queued for an endpoint, newest first, with the state of the latest delivery.',
        params: EndpointParams,
        querystring: AttemptedMessagesQuery,
        response: {
          200: ListResponse(EndpointMessageOut, 'EndpointMessageOut'),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const found = await application(request, request.params.app_id);
      const filter = filterOf(request.query);
      const page = await service.listAttemptedMessages(
        ctx,
        found,
        request.params.endpoint_id,
        filter,
        windowOf(request.query),
      );
      return {
        ...page,
        data: page.data.map(({ message, delivery }) =>
          toEndpointMessageOut(message, delivery, {
            withContent: filter.withContent,
            expanded: filter.expandedStatuses,
          }),
        ),
      };
    },
  );

  app.post(
    '/app/:app_id/msg/:msg_id/endpoint/:endpoint_id/resend',
    {
      schema: {
        tags,
        summary: 'Resend a message to an endpoint',
        description:
          'Queues a manual delivery, due now. A disabled endpoint is skipped silently (still 202).',
        params: ResendParams,
        response: { 202: Type.Object({}), ...errorResponses },
      },
    },
    async (request, reply) => {
      const found = await application(request, request.params.app_id);
      await service.resendMessage(ctx, found, request.params.msg_id, request.params.endpoint_id);
      return reply.code(202).send({});
    },
  );
};
