import { Type } from '@sinclair/typebox';
import { toIso } from '../../core/time.js';
import { withDefaults } from '../../outbound/endpoints.js';
import type { EndpointRecord } from '../../store/endpoints.js';
import {
  Channel,
  DateTime,
  EventTypeName,
  ListQuery,
  Metadata,
  Nullable,
  ThrottleRate,
  Uid,
} from './common.js';
import { PlainText } from './event-types.js';

const Url = Type.String({
  minLength: 1,
  maxLength: 65536,
  description: 'An absolute http or https URL; stored normalised.',
});
const EventTypes = Type.Array(EventTypeName, {
  minItems: 1,
  uniqueItems: true,
  description: 'Only these (existing, non-archived) event types; null = all.',
});
const Channels = Type.Array(Channel, {
  minItems: 1,
  maxItems: 10,
  uniqueItems: true,
  description: 'Only messages sharing one of these channels; null = all messages.',
});
const Version = Type.Integer({ minimum: 1 });
const Headers = Type.Record(Type.String(), Type.String());
const Secret = Type.String({
  description:
    '`whsec_` + base64 of 24..64 bytes (HMAC, `v1`) or `whsk_` + base64 of an ed25519 key (`v1a`); generated when null.',
});

// Switchboard extensions (not in Svix): how the engine delivers to this endpoint.
const Ordering = Type.Union([Type.Literal('unordered'), Type.Literal('fifo')], {
  description:
    '`fifo`: a message is sent only once every earlier message to this endpoint succeeded or was given up. Default `unordered`.',
});
const RetryNon2xx = Type.Boolean({
  description:
    'Retry every non-2xx answer, not only 408, 429 and 5xx (410 still disables). Default false.',
});
const LegacySignature = Type.Object(
  {
    scheme: Type.Union([Type.Literal('stripe'), Type.Literal('github')], {
      description:
        '`stripe`: `t=<ts>,v1=<hex HMAC-SHA256 of "{t}.{body}">`; `github`: `sha256=<hex HMAC-SHA256 of the body>`. Keyed with the endpoint\'s whsec_ secret.',
    }),
    header: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        pattern: "^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$",
        description: 'Default `stripe-signature` / `x-hub-signature-256`.',
      }),
    ),
  },
  {
    additionalProperties: false,
    title: 'LegacySignature',
    description: 'A legacy signature header sent alongside the Standard Webhooks headers.',
  },
);

const deliveryFields = {
  ordering: Type.Optional(Nullable(Ordering)),
  retryNon2xx: Type.Optional(Nullable(RetryNon2xx)),
  legacySignature: Type.Optional(Nullable(LegacySignature)),
};

const upsertFields = {
  url: Url,
  description: Type.Optional(PlainText),
  uid: Type.Optional(Nullable(Uid)),
  throttleRate: Type.Optional(Nullable(ThrottleRate)),
  rateLimit: Type.Optional(Nullable(ThrottleRate)),
  disabled: Type.Optional(Type.Boolean()),
  eventTypes: Type.Optional(Nullable(EventTypes)),
  filterTypes: Type.Optional(Nullable(EventTypes)),
  channels: Type.Optional(Nullable(Channels)),
  metadata: Type.Optional(Metadata),
  version: Type.Optional(Version),
  ...deliveryFields,
};

export const EndpointIn = Type.Object(
  {
    ...upsertFields,
    secret: Type.Optional(Nullable(Secret)),
    headers: Type.Optional(Nullable(Headers)),
  },
  { title: 'EndpointIn' },
);

export const EndpointUpsertIn = Type.Object(upsertFields, { title: 'EndpointUpsertIn' });

export const EndpointPatch = Type.Object(
  {
    url: Type.Optional(Url),
    description: Type.Optional(PlainText),
    uid: Type.Optional(Nullable(Uid)),
    throttleRate: Type.Optional(Nullable(ThrottleRate)),
    rateLimit: Type.Optional(Nullable(ThrottleRate)),
    disabled: Type.Optional(Type.Boolean()),
    eventTypes: Type.Optional(Nullable(EventTypes)),
    filterTypes: Type.Optional(Nullable(EventTypes)),
    channels: Type.Optional(Nullable(Channels)),
    metadata: Type.Optional(Metadata),
    version: Type.Optional(Version),
    ...deliveryFields,
  },
  { title: 'EndpointPatch' },
);

export const EndpointOut = Type.Object(
  {
    id: Type.String({ examples: ['ep_1srOrx2ZWZBpBUvZwXKQmoEYga2'] }),
    url: Type.String(),
    description: Type.String(),
    uid: Nullable(Type.String()),
    throttleRate: Nullable(Type.Integer()),
    disabled: Type.Boolean(),
    eventTypes: Nullable(Type.Array(Type.String())),
    channels: Nullable(Type.Array(Type.String())),
    metadata: Metadata,
    createdAt: DateTime,
    updatedAt: DateTime,
    rateLimit: Nullable(Type.Integer({ description: 'Svix OSS alias of throttleRate.' })),
    filterTypes: Nullable(
      Type.Array(Type.String(), { description: 'Svix OSS alias of eventTypes.' }),
    ),
    version: Type.Integer(),
    ordering: Ordering,
    retryNon2xx: RetryNon2xx,
    legacySignature: Nullable(LegacySignature),
  },
  { title: 'EndpointOut' },
);

export const EndpointSecretOut = Type.Object(
  { key: Type.String({ examples: ['whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD'] }) },
  { title: 'EndpointSecretOut' },
);

export const EndpointSecretRotateIn = Type.Object(
  {
    key: Type.Optional(Nullable(Secret)),
    gracePeriodSeconds: Type.Optional(
      Nullable(
        Type.Integer({
          minimum: 0,
          maximum: 604800,
          description: 'How long the old secret keeps signing; default 86400 (24 h).',
        }),
      ),
    ),
  },
  { title: 'EndpointSecretRotateIn' },
);

export const EndpointHeadersOut = Type.Object(
  {
    headers: Headers,
    sensitive: Type.Array(Type.String(), {
      description: 'Names of headers that are set but never shown (authorization, API keys…).',
    }),
  },
  { title: 'EndpointHeadersOut' },
);

export const EndpointHeadersIn = Type.Object({ headers: Headers }, { title: 'EndpointHeadersIn' });

export const EndpointHeadersPatchIn = Type.Object(
  {
    headers: Type.Optional(Type.Record(Type.String(), Nullable(Type.String()))),
    deleteHeaders: Type.Optional(Type.Array(Type.String())),
  },
  { title: 'EndpointHeadersPatchIn' },
);

export const EndpointListQuery = Type.Object(ListQuery);
export const AppParams = Type.Object({ app_id: Type.String({ minLength: 1 }) });
export const EndpointParams = Type.Object({
  app_id: Type.String({ minLength: 1 }),
  endpoint_id: Type.String({ minLength: 1 }),
});

export function toEndpointOut(endpoint: EndpointRecord) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    uid: endpoint.uid,
    throttleRate: endpoint.throttleRate,
    disabled: endpoint.disabled,
    eventTypes: endpoint.eventTypes,
    channels: endpoint.channels,
    metadata: endpoint.metadata,
    createdAt: toIso(endpoint.createdAt),
    updatedAt: toIso(endpoint.updatedAt),
    rateLimit: endpoint.throttleRate,
    filterTypes: endpoint.eventTypes,
    version: endpoint.version,
    ...withDefaults(endpoint.options),
  };
}

/** `eventTypes` wins over its deprecated alias `filterTypes`, as in Svix. */
export function eventTypesOf(body: {
  eventTypes?: string[] | null;
  filterTypes?: string[] | null;
}): string[] | null | undefined {
  return body.eventTypes !== undefined ? body.eventTypes : body.filterTypes;
}
