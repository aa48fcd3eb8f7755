import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { toIso } from '../../core/time.js';
import { sourceAppId } from '../../inbound/forwarding.js';
import { requireSource } from '../../inbound/sources.js';
import * as service from '../../outbound/endpoints.js';
import type { ServiceContext } from '../../platform/context.js';
import type { EndpointRecord } from '../../store/endpoints.js';
import { listOrder, requireOrg } from '../access.js';
import {
  DateTime,
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
  EndpointHeadersPatchIn,
  EndpointSecretOut,
  EndpointSecretRotateIn,
} from '../schemas/endpoints.js';
import { PlainText } from '../schemas/event-types.js';

const tags = ['Ingest Endpoint'];

/** Source endpoints may be nats:, mailto: and app: destinations too (docs/destinations.md). */
const DESTINATIONS: service.EndpointScope = { destinations: true, anyEventType: true };

/** Beyond Svix Ingest: which (provider or mapped) event types an endpoint takes. */
const FilterTypes = Nullable(
  Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
    minItems: 1,
    maxItems: 256,
    uniqueItems: true,
    description:
      'Event types this endpoint receives (after mapping); null or absent: every event. Not part of Svix Ingest.',
  }),
);

const Url = Type.String({
  minLength: 1,
  maxLength: 65536,
  description:
    'Where events go: an absolute http or https URL (stored normalised), `nats:SUBJECT` (a JetStream ' +
    'publish on NATS_URL), `mailto:ADDR[,ADDR…]?subject=…&body=…` (an email; `{{path}}` templates ' +
    'are filled from the JSON payload) or `app:APP_ID_OR_UID` (a message of that application).',
  examples: [
    'https://example.com/hook',
    'nats:sales.gumroad',
    'mailto:{{email}}?subject=Thanks',
    'app:crm',
  ],
});
const Secret = Type.String({
  description: '`whsec_` + base64 of 24..64 bytes, or a `whsk_` ed25519 key; generated when null.',
});

const upsertFields = {
  url: Url,
  description: Type.Optional(PlainText),
  uid: Type.Optional(Nullable(Uid)),
  throttleRate: Type.Optional(Nullable(ThrottleRate)),
  disabled: Type.Optional(Type.Boolean()),
  metadata: Type.Optional(Metadata),
  filterTypes: Type.Optional(FilterTypes),
};

const IngestEndpointIn = Type.Object(
  {
    ...upsertFields,
    secret: Type.Optional(Nullable(Secret)),
    headers: Type.Optional(Nullable(Type.Record(Type.String(), Type.String()))),
  },
  { title: 'IngestEndpointIn' },
);

const IngestEndpointUpsertIn = Type.Object(upsertFields, { title: 'IngestEndpointUpsertIn' });

const IngestEndpointPatch = Type.Object(
  {
    url: Type.Optional(Url),
    description: Type.Optional(PlainText),
    uid: Type.Optional(Nullable(Uid)),
    throttleRate: Type.Optional(Nullable(ThrottleRate)),
    disabled: Type.Optional(Type.Boolean()),
    metadata: Type.Optional(Metadata),
    filterTypes: Type.Optional(FilterTypes),
  },
  { title: 'IngestEndpointPatch' },
);

const IngestEndpointOut = Type.Object(
  {
    id: Type.String({ examples: ['ep_1srOrx2ZWZBpBUvZwXKQmoEYga2'] }),
    url: Type.String(),
    description: Type.String(),
    uid: Nullable(Type.String()),
    throttleRate: Nullable(Type.Integer()),
    disabled: Type.Boolean(),
    metadata: Metadata,
    filterTypes: Nullable(Type.Array(Type.String())),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { title: 'IngestEndpointOut' },
);

const SourceParams = Type.Object({ source_id: Type.String({ minLength: 1, maxLength: 60 }) });
const Params = Type.Object({
  source_id: Type.String({ minLength: 1, maxLength: 60 }),
  endpoint_id: Type.String({ minLength: 1 }),
});

/** The wire's `filterTypes` is the engine's `eventTypes` (absent stays absent: PATCH keeps it). */
function fromWire<T extends { filterTypes?: string[] | null }>(
  body: T,
): Omit<T, 'filterTypes'> & { eventTypes?: string[] | null } {
  const { filterTypes, ...rest } = body;
  return filterTypes === undefined ? rest : { ...rest, eventTypes: filterTypes };
}

function toOut(endpoint: EndpointRecord) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    uid: endpoint.uid,
    throttleRate: endpoint.throttleRate,
    disabled: endpoint.disabled,
    metadata: endpoint.metadata,
    filterTypes: endpoint.eventTypes,
    createdAt: toIso(endpoint.createdAt),
    updatedAt: toIso(endpoint.updatedAt),
  };
}

/**
 * `/ingest/api/v1/source/{source_id}/endpoint`: where a source's verified events are forwarded
 * (`svix.ingest.endpoint.*`). They are the endpoints of the source's hidden application, so
 * the engine signs, retries and logs forwarded events like any other message. `filterTypes`
 * (an extension) limits an endpoint to some event types. Organisation keys only.
 */
export const ingestEndpointRoutes: FastifyPluginAsyncTypebox<{ ctx: ServiceContext }> = async (
  app,
  { ctx },
) => {
  app.addHook('onRequest', async (request) => {
    requireOrg(request);
  });
  /** The hidden application of a source given by id or uid; 404 for an unknown source. */
  const appOf = async (sourceIdOrUid: string) =>
    sourceAppId(ctx, (await requireSource(ctx.db, sourceIdOrUid)).id);

  app.get(
    '/source/:source_id/endpoint',
    {
      schema: {
        tags,
        summary: 'List ingest endpoints',
        params: SourceParams,
        querystring: Type.Object(ListQuery),
        response: { 200: ListResponse(IngestEndpointOut, 'IngestEndpointOut'), ...errorResponses },
      },
    },
    async (request) => {
      const { limit = 50, iterator, order } = request.query;
      const page = await service.listEndpoints(ctx, await appOf(request.params.source_id), {
        limit,
        iterator,
        order: listOrder(order, 'desc'),
      });
      return { ...page, data: page.data.map(toOut) };
    },
  );

  app.post(
    '/source/:source_id/endpoint',
    {
      schema: {
        tags,
        summary: 'Create an ingest endpoint',
        params: SourceParams,
        body: IngestEndpointIn,
        response: { 201: IngestEndpointOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const created = await service.createEndpoint(
        ctx,
        await appOf(request.params.source_id),
        fromWire(request.body),
        DESTINATIONS,
      );
      return reply.code(201).send(toOut(created));
    },
  );

  app.get(
    '/source/:source_id/endpoint/:endpoint_id',
    {
      schema: {
        tags,
        summary: 'Get an ingest endpoint',
        params: Params,
        response: { 200: IngestEndpointOut, ...errorResponses },
      },
    },
    async (request) =>
      toOut(
        await service.getEndpoint(
          ctx,
          await appOf(request.params.source_id),
          request.params.endpoint_id,
        ),
      ),
  );

  app.put(
    '/source/:source_id/endpoint/:endpoint_id',
    {
      schema: {
        tags,
        summary: 'Update an ingest endpoint, or create it',
        params: Params,
        body: IngestEndpointUpsertIn,
        response: { 200: IngestEndpointOut, 201: IngestEndpointOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const result = await service.upsertEndpoint(
        ctx,
        await appOf(request.params.source_id),
        request.params.endpoint_id,
        fromWire(request.body),
        DESTINATIONS,
      );
      return reply.code(result.created ? 201 : 200).send(toOut(result.endpoint));
    },
  );

  app.patch(
    '/source/:source_id/endpoint/:endpoint_id',
    {
      schema: {
        tags,
        summary: 'Patch an ingest endpoint',
        params: Params,
        body: IngestEndpointPatch,
        response: { 200: IngestEndpointOut, ...errorResponses },
      },
    },
    async (request) =>
      toOut(
        await service.patchEndpoint(
          ctx,
          await appOf(request.params.source_id),
          request.params.endpoint_id,
          fromWire(request.body),
          DESTINATIONS,
        ),
      ),
  );

  app.delete(
    '/source/:source_id/endpoint/:endpoint_id',
    {
      schema: {
        tags,
        summary: 'Delete an ingest endpoint',
        params: Params,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await service.deleteEndpoint(
        ctx,
        await appOf(request.params.source_id),
        request.params.endpoint_id,
      );
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/source/:source_id/endpoint/:endpoint_id/secret',
    {
      schema: {
        tags,
        summary: "Get an ingest endpoint's signing secret",
        params: Params,
        response: { 200: EndpointSecretOut, ...errorResponses },
      },
    },
    async (request) => ({
      key: await service.getEndpointSecret(
        ctx,
        await appOf(request.params.source_id),
        request.params.endpoint_id,
      ),
    }),
  );

  app.post(
    '/source/:source_id/endpoint/:endpoint_id/secret/rotate',
    {
      schema: {
        tags,
        summary: "Rotate an ingest endpoint's signing secret",
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
        await appOf(request.params.source_id),
        request.params.endpoint_id,
        request.body,
      );
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/source/:source_id/endpoint/:endpoint_id/headers',
    {
      schema: {
        tags,
        summary: "Get an ingest endpoint's custom headers",
        params: Params,
        response: { 200: EndpointHeadersOut, ...errorResponses },
      },
    },
    async (request) =>
      service.getEndpointHeaders(
        ctx,
        await appOf(request.params.source_id),
        request.params.endpoint_id,
      ),
  );

  app.put(
    '/source/:source_id/endpoint/:endpoint_id/headers',
    {
      schema: {
        tags,
        summary: "Replace an ingest endpoint's custom headers",
        params: Params,
        body: EndpointHeadersIn,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await service.setEndpointHeaders(
        ctx,
        await appOf(request.params.source_id),
        request.params.endpoint_id,
        request.body.headers,
      );
      return reply.code(204).send(null);
    },
  );

  app.patch(
    '/source/:source_id/endpoint/:endpoint_id/headers',
    {
      schema: {
        tags,
        summary: "Patch an ingest endpoint's custom headers",
        description: 'A null value removes that header.',
        params: Params,
        body: EndpointHeadersPatchIn,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await service.patchEndpointHeaders(
        ctx,
        await appOf(request.params.source_id),
        request.params.endpoint_id,
        { headers: request.body.headers ?? {}, deleteHeaders: request.body.deleteHeaders },
      );
      return reply.code(204).send(null);
    },
  );
};
