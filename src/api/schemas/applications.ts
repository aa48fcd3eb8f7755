import { Type } from '@sinclair/typebox';
import { toIso } from '../../core/time.js';
import type { ApplicationRecord } from '../../store/applications.js';
import { Metadata, Nullable, ThrottleRate, Uid } from './common.js';

export const ApplicationIn = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    uid: Type.Optional(Nullable(Uid)),
    throttleRate: Type.Optional(Nullable(ThrottleRate)),
    rateLimit: Type.Optional(Nullable(ThrottleRate)),
    metadata: Type.Optional(Metadata),
  },
  { title: 'ApplicationIn' },
);

export const ApplicationPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1 })),
    uid: Type.Optional(Nullable(Uid)),
    throttleRate: Type.Optional(Nullable(ThrottleRate)),
    rateLimit: Type.Optional(Nullable(ThrottleRate)),
    metadata: Type.Optional(Metadata),
  },
  { title: 'ApplicationPatch' },
);

export const ApplicationOut = Type.Object(
  {
    id: Type.String({ examples: ['app_1srOrx2ZWZBpBUvZwXKQmoEYga2'] }),
    uid: Nullable(Type.String()),
    name: Type.String(),
    throttleRate: Nullable(Type.Integer()),
    metadata: Metadata,
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { title: 'ApplicationOut' },
);

export function toApplicationOut(app: ApplicationRecord) {
  return {
    id: app.id,
    uid: app.uid,
    name: app.name,
    throttleRate: app.throttleRate,
    metadata: app.metadata,
    createdAt: toIso(app.createdAt),
    updatedAt: toIso(app.updatedAt),
  };
}

/** `throttleRate` wins over its deprecated alias `rateLimit`, as in Svix. */
export function throttleRateOf(body: {
  throttleRate?: number | null;
  rateLimit?: number | null;
}): number | null | undefined {
  return body.throttleRate !== undefined ? body.throttleRate : body.rateLimit;
}
