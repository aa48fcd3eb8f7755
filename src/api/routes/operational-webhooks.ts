import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { toIso } from '../../core/time.js';
import * as service from '../../outbound/endpoints.js';
import { type OperationalEvents, operationalAppId } from '../../outbound/operational-events.js';
import type { ServiceContext } from '../../platform/context.js';
import type { EndpointRecord } from '../../store/endpoints.js';
import { listOrder, requireOrg } from '../access.js';
import { throttleRateOf } from '../schemas/applications.js';
import {
  DateTime,
  EventTypeName,
  errorResponses,
  ListQuery,
  ListResponse,
  Metadata,
  NoContent,
  Nullable,
  ThrottleRate,
  Uid,
} from '../schemas/common.js';
import {
  EndpointHeadersIn,
  EndpointHeadersOut,
  EndpointSecretOut,
  EndpointSecretRotateIn,
  eventTypesOf,
} from '../schemas/endpoints.js';
import { PlainText } from '../schemas/event-types.js';

/**
 * The operational webhooks Switchboard sends (SPEC §3, svix-api.md §5). They are not in the
 * event-type catalogue: an operational endpoint's filter may name exactly these.
 */
export const OPERATIONAL_EVENT_TYPES = [
  'endpoint.created',
  'endpoint.updated',
  'endpoint.deleted',
  'endpoint.disabled',
  'message.attempt.failing',
  'message.attempt.exhausted',
  'message.attempt.recovered',
] as const;

const scope: service.EndpointScope = { eventTypes: OPERATIONAL_EVENT_TYPES };
const tags = ['Webhook Endpoint'];

const Url = Type.String({
  minLength: 1,
  maxLength: 65536,
  description: 'An absolute http or https URL; stored normalised.',
});
const FilterTypes = Type.Array(EventTypeName, {
  minItems: 1,
  uniqueItems: true,
  description: `Only these operational events (${OPERATIONAL_EVENT_TYPES.join(', ')}); null = all.`,
});
const Secret = Type.String({
  description: '`whsec_` + base64 of 24..64 bytes, or a `whsk_` ed25519 key; generated when null.',
});

// The svix SDK (2.x) sends `throttleRate` and `eventTypes`; the Svix API reference names them
// `rateLimit` and `filterTypes`. Both spellings are accepted and both are emitted.
const upsertFields = {
  url: Url,
  description: Type.Optional(PlainText),
  uid: Type.Optional(Nullable(Uid)),
  throttleRate: Type.Optional(Nullable(ThrottleRate)),
  rateLimit: Type.Optional(Nullable(ThrottleRate)),
  disabled: Type.Optional(Type.Boolean()),
  eventTypes: Type.Optional(Nullable(FilterTypes)),
  filterTypes: Type.Optional(Nullable(FilterTypes)),
  metadata: Type.Optional(Metadata),
};

const OperationalWebhookEndpointIn = Type.Object(
  {
    ...upsertFields,
    secret: Type.Optional(Nullable(Secret)),
    headers: Type.Optional(Nullable(Type.Record(Type.String(), Type.String()))),
  },
  { title: 'OperationalWebhookEndpointIn' },
);

const OperationalWebhookEndpointUpsertIn = Type.Object(upsertFields, {
  title: 'OperationalWebhookEndpointUpsertIn',
});

const OperationalWebhookEndpointPatch = Type.Object(
  {
    url: Type.Optional(Url),
    description: Type.Optional(PlainText),
    uid: Type.Optional(Nullable(Uid)),
    throttleRate: Type.Optional(Nullable(ThrottleRate)),
    rateLimit: Type.Optional(Nullable(ThrottleRate)),
    disabled: Type.Optional(Type.Boolean()),
    eventTypes: Type.Optional(Nullable(FilterTypes)),
    filterTypes: Type.Optional(Nullable(FilterTypes)),
    metadata: Type.Optional(Metadata),
  },
  { title: 'OperationalWebhookEndpointPatch' },
);

const OperationalWebhookEndpointOut = Type.Object(
  {
    id: Type.String({ examples: ['ep_1srOrx2ZWZBpBUvZwXKQmoEYga2'] }),
    url: Type.String(),
    description: Type.String(),
    uid: Nullable(Type.String()),
    throttleRate: Nullable(Type.Integer()),
    rateLimit: Nullable(Type.Integer({ description: 'Alias of throttleRate.' })),
    disabled: Type.Boolean(),
    eventTypes: Nullable(Type.Array(Type.String())),
    filterTypes: Nullable(Type.Array(Type.String(), { description: 'Alias of eventTypes.' })),
    metadata: Metadata,
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { title: 'OperationalWebhookEndpointOut' },
);

const Params = Type.Object({ endpoint_id: Type.String({ minLength: 1 }) });

function toOut(endpoint: EndpointRecord) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    uid: endpoint.uid,
    throttleRate: endpoint.throttleRate,
    rateLimit: endpoint.throttleRate,
    disabled: endpoint.disabled,
    eventTypes: endpoint.eventTypes,
    filterTypes: endpoint.eventTypes,
    metadata: endpoint.metadata,
    createdAt: toIso(endpoint.createdAt),
    updatedAt: toIso(endpoint.updatedAt),
  };
}

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

/**
 * `/operational-webhook/endpoint`: the organisation's operational-webhook endpoints, Svix
 * compatible (`svix.operationalWebhook.endpoint.*`). They are the endpoints of the hidden
 * operational application, so the engine signs, retries and logs operational webhooks exactly
 * like any other message. Organisation keys only.
 */
export const operationalWebhookRoutes: FastifyPluginAsyncTypebox<{
  ctx: ServiceContext;
  operational?: OperationalEvents;
}> = async (app, { ctx }) => {
  // Before validation, so an application key learns nothing about what the body should be.
  app.addHook('onRequest', async (request) => {
    requireOrg(request);
  });
  const appOf = () => operationalAppId(ctx);

  app.get(
    '/operational-webhook/endpoint',
    {
      schema: {
        tags,
        summary: 'List operational webhook endpoints',
        querystring: Type.Object(ListQuery),
        response: {
          200: ListResponse(OperationalWebhookEndpointOut, 'OperationalWebhookEndpointOut'),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { limit = 50, iterator, order } = request.query;
      const page = await service.listEndpoints(ctx, await appOf(), {
        limit,
        iterator,
        order: listOrder(order, 'desc'),
      });
      return { ...page, data: page.data.map(toOut) };
    },
  );

  app.post(
    '/operational-webhook/endpoint',
    {
      schema: {
        tags,
        summary: 'Create an operational webhook endpoint',
        body: OperationalWebhookEndpointIn,
        response: { 201: OperationalWebhookEndpointOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const created = await service.createEndpoint(
        ctx,
        await appOf(),
        aliasesOf(request.body),
        scope,
      );
      return reply.code(201).send(toOut(created));
    },
  );

  app.get(
    '/operational-webhook/endpoint/:endpoint_id',
    {
      schema: {
        tags,
        summary: 'Get an operational webhook endpoint',
        params: Params,
        response: { 200: OperationalWebhookEndpointOut, ...errorResponses },
      },
    },
    async (request) =>
      toOut(await service.getEndpoint(ctx, await appOf(), request.params.endpoint_id)),
  );

  app.put(
    '/operational-webhook/endpoint/:endpoint_id',
    {
      schema: {
        tags,
        summary: 'Update an operational webhook endpoint, or create it',
        params: Params,
        body: OperationalWebhookEndpointUpsertIn,
        response: {
          200: OperationalWebhookEndpointOut,
          201: OperationalWebhookEndpointOut,
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const result = await service.upsertEndpoint(
        ctx,
        await appOf(),
        request.params.endpoint_id,
        aliasesOf(request.body),
        scope,
      );
      return reply.code(result.created ? 201 : 200).send(toOut(result.endpoint));
    },
  );

  app.patch(
    '/operational-webhook/endpoint/:endpoint_id',
    {
      schema: {
        tags,
        summary: 'Patch an operational webhook endpoint',
        params: Params,
        body: OperationalWebhookEndpointPatch,
        response: { 200: OperationalWebhookEndpointOut, ...errorResponses },
      },
    },
    async (request) =>
      toOut(
        await service.patchEndpoint(
          ctx,
          await appOf(),
          request.params.endpoint_id,
          aliasesOf(request.body),
          scope,
        ),
      ),
  );

  app.delete(
    '/operational-webhook/endpoint/:endpoint_id',
    {
      schema: {
        tags,
        summary: 'Delete an operational webhook endpoint',
        params: Params,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await service.deleteEndpoint(ctx, await appOf(), request.params.endpoint_id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/operational-webhook/endpoint/:endpoint_id/secret',
    {
      schema: {
        tags,
        summary: "Get an operational webhook endpoint's signing secret",
        params: Params,
        response: { 200: EndpointSecretOut, ...errorResponses },
      },
    },
    async (request) => ({
      key: await service.getEndpointSecret(ctx, await appOf(), request.params.endpoint_id),
    }),
  );

  app.post(
    '/operational-webhook/endpoint/:endpoint_id/secret/rotate',
    {
      schema: {
        tags,
        summary: "Rotate an operational webhook endpoint's signing secret",
        description: 'The old secret keeps signing for `gracePeriodSeconds` (default 24 h).',
        params: Params,
        body: EndpointSecretRotateIn,
        response: { 204: NoContent, ...errorResponses },
      },
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      await service.rotateEndpointSecret(
        ctx,
        await appOf(),
        request.params.endpoint_id,
        request.body,
      );
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/operational-webhook/endpoint/:endpoint_id/headers',
    {
      schema: {
        tags,
        summary: "Get an operational webhook endpoint's custom headers",
        params: Params,
        response: { 200: EndpointHeadersOut, ...errorResponses },
      },
    },
    async (request) => service.getEndpointHeaders(ctx, await appOf(), request.params.endpoint_id),
  );

  app.put(
    '/operational-webhook/endpoint/:endpoint_id/headers',
    {
      schema: {
        tags,
        summary: "Replace an operational webhook endpoint's custom headers",
        params: Params,
        body: EndpointHeadersIn,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await service.setEndpointHeaders(
        ctx,
        await appOf(),
        request.params.endpoint_id,
        request.body.headers,
      );
      return reply.code(204).send(null);
    },
  );
};
