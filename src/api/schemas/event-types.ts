import { Type } from '@sinclair/typebox';
import { toIso } from '../../core/time.js';
import type { EventTypeRecord } from '../../store/event-types.js';
import { DateTime, EventTypeName, IdPattern, ListQuery, Nullable } from './common.js';

/** Svix (OSS) rejects the control characters 0x00–0x08 in names and descriptions. */
export const PlainText = Type.String({ pattern: '^[^\\x00-\\x08]*$' });
const FeatureFlag = Type.String({ minLength: 1, maxLength: 256, pattern: IdPattern });
const GroupName = Type.String({ minLength: 1, maxLength: 256, pattern: IdPattern });
const Schemas = Type.Record(Type.String(), Type.Unknown(), {
  description: 'Version ("1", "2", …) → JSON Schema (Draft 7) of the payload.',
});

const writableFields = {
  archived: Type.Optional(Type.Boolean()),
  deprecated: Type.Optional(Type.Boolean()),
  schemas: Type.Optional(Nullable(Schemas)),
  featureFlags: Type.Optional(Nullable(Type.Array(FeatureFlag, { minItems: 1 }))),
  featureFlag: Type.Optional(
    Nullable(
      Type.String({
        minLength: 1,
        maxLength: 256,
        pattern: IdPattern,
        description: 'Svix OSS spelling of a single feature flag.',
      }),
    ),
  ),
  groupName: Type.Optional(Nullable(GroupName)),
};

export const EventTypeIn = Type.Object(
  { name: EventTypeName, description: PlainText, ...writableFields },
  { title: 'EventTypeIn' },
);

export const EventTypeUpsertIn = Type.Object(
  { description: PlainText, ...writableFields },
  { title: 'EventTypeUpsertIn' },
);

export const EventTypePatch = Type.Object(
  { description: Type.Optional(PlainText), ...writableFields },
  { title: 'EventTypePatch' },
);

export const EventTypeOut = Type.Object(
  {
    name: Type.String({ examples: ['user.signup'] }),
    description: Type.String(),
    archived: Type.Boolean(),
    deprecated: Type.Boolean(),
    schemas: Nullable(Schemas),
    createdAt: DateTime,
    updatedAt: DateTime,
    featureFlags: Nullable(Type.Array(Type.String())),
    featureFlag: Nullable(Type.String()),
    groupName: Nullable(Type.String()),
  },
  { title: 'EventTypeOut' },
);

export const EventTypeListQuery = Type.Object({
  ...ListQuery,
  include_archived: Type.Optional(Type.Boolean({ default: false })),
  with_content: Type.Optional(Type.Boolean({ default: false })),
});

export const EventTypeParams = Type.Object({ event_type_name: Type.String({ minLength: 1 }) });
/** PUT may create, so the name in the path must be a valid one. */
export const EventTypeUpsertParams = Type.Object({ event_type_name: EventTypeName });

export function toEventTypeOut(eventType: EventTypeRecord, withContent = true) {
  return {
    name: eventType.name,
    description: eventType.description,
    archived: eventType.archived,
    deprecated: eventType.deprecated,
    schemas: withContent ? eventType.schemas : null,
    createdAt: toIso(eventType.createdAt),
    updatedAt: toIso(eventType.updatedAt),
    featureFlags: eventType.featureFlags,
    featureFlag: eventType.featureFlags?.[0] ?? null,
    groupName: eventType.groupName,
  };
}

/** `featureFlags` (Hosted/SDK) wins over the OSS singular `featureFlag`. */
export function featureFlagsOf(body: {
  featureFlags?: string[] | null;
  featureFlag?: string | null;
}): string[] | null | undefined {
  if (body.featureFlags !== undefined) return body.featureFlags;
  if (body.featureFlag === undefined) return undefined;
  return body.featureFlag === null ? null : [body.featureFlag];
}
