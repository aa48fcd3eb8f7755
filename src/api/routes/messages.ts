import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import { requireApplication } from '../../outbound/applications.js';
import * as service from '../../outbound/messages.js';
import { MESSAGE_BATCH_MAX } from '../../outbound/messages.js';
import type { ServiceContext } from '../../platform/context.js';
import { requireAppAccess, requireOrg } from '../access.js';
import { throttleRateOf } from '../schemas/applications.js';
import { errorResponses, ListResponse } from '../schemas/common.js';
import {
  eventTypesOf,
  MessageIn,
  MessageListQuery,
  MessageOut,
  timeOf,
  toMessageOut,
} from '../schemas/messages.js';

const AppParams = Type.Object({ app_id: Type.String({ minLength: 1 }) });
const MessageParams = Type.Object({
  app_id: Type.String({ minLength: 1 }),
  msg_id: Type.String({ minLength: 1 }),
});
const WithContent = Type.Object({ with_content: Type.Optional(Type.Boolean({ default: true })) });
const tags = ['Message'];

const MessageBatchIn = Type.Object(
  { messages: Type.Array(MessageIn, { minItems: 1, maxItems: MESSAGE_BATCH_MAX }) },
  { title: 'MessageBatchIn' },
);
const MessageBatchOut = Type.Object({ data: Type.Array(MessageOut) }, { title: 'MessageBatchOut' });

/** The request's message as the service takes it (times in epoch ms). */
function messageInputOf(body: Static<typeof MessageIn>): service.MessageInput {
  return {
    ...body,
    deliverAt: timeOf(body.deliverAt ?? undefined),
    application: body.application && {
      ...body.application,
      throttleRate: throttleRateOf(body.application),
    },
  };
}

function createdOut(created: service.CreatedMessage, withContent: boolean) {
  return toMessageOut(created.message, withContent, {
    payload: created.payload,
    deliverAt: created.deliverAt,
  });
}

export const messageRoutes: FastifyPluginAsyncTypebox<{ ctx: ServiceContext }> = async (
  app,
  { ctx },
) => {
  app.post(
    '/app/:app_id/msg',
    {
      schema: {
        tags,
        summary: 'Create a message',
        description:
          'Stores the message and queues one delivery per matching endpoint. With `application`, a missing application is created first.',
        params: AppParams,
        querystring: WithContent,
        body: MessageIn,
        response: { 202: MessageOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      requireOrg(request);
      const created = await service.createMessage(
        ctx,
        request.params.app_id,
        messageInputOf(request.body),
      );
      return reply.code(202).send(createdOut(created, request.query.with_content ?? true));
    },
  );

  app.post(
    '/app/:app_id/msg/batch',
    {
      schema: {
        tags,
        summary: 'Create messages in a batch',
        description: `Beyond Svix: up to ${MESSAGE_BATCH_MAX} messages of one application in one request and one transaction — all are stored, or none is (an error names the message by its index). Each is routed and delivered as if it had been created alone; the answer lists them in the order given. \`idempotency-key\` covers the whole batch.`,
        params: AppParams,
        querystring: WithContent,
        body: MessageBatchIn,
        response: { 202: MessageBatchOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      requireOrg(request);
      const created = await service.createMessages(
        ctx,
        request.params.app_id,
        request.body.messages.map(messageInputOf),
      );
      const withContent = request.query.with_content ?? true;
      return reply
        .code(202)
        .send({ data: created.map((message) => createdOut(message, withContent)) });
    },
  );

  app.get(
    '/app/:app_id/msg',
    {
      schema: {
        tags,
        summary: 'List messages',
        description: 'Newest first, searched in windows of 90 days as Svix does.',
        params: AppParams,
        querystring: MessageListQuery,
        response: { 200: ListResponse(MessageOut, 'MessageOut'), ...errorResponses },
      },
    },
    async (request) => {
      const found = await requireApplication(ctx.db, request.params.app_id);
      requireAppAccess(request, found.id);
      const query = request.query;
      const withContent = query.with_content ?? true;
      const page = await service.listMessages(
        ctx,
        found,
        { channel: query.channel, tag: query.tag, eventTypes: eventTypesOf(query), withContent },
        {
          limit: query.limit ?? 50,
          iterator: query.iterator,
          before: timeOf(query.before),
          after: timeOf(query.after),
        },
      );
      return { ...page, data: page.data.map((m) => toMessageOut(m, withContent)) };
    },
  );

  app.get(
    '/app/:app_id/msg/:msg_id',
    {
      schema: {
        tags,
        summary: 'Get a message',
        description: '`msg_id` is the message id or its `eventId`.',
        params: MessageParams,
        querystring: WithContent,
        response: { 200: MessageOut, ...errorResponses },
      },
    },
    async (request) => {
      const found = await requireApplication(ctx.db, request.params.app_id);
      requireAppAccess(request, found.id);
      const withContent = request.query.with_content ?? true;
      const message = await service.getMessage(ctx, found, request.params.msg_id, withContent);
      return toMessageOut(message, withContent);
    },
  );
};
