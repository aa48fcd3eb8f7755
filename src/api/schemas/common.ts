import { type TSchema, Type } from '@sinclair/typebox';

/** Shapes shared by every resource of the Svix-compatible API. */

export const ErrorOut = Type.Object(
  { code: Type.String(), detail: Type.String() },
  { title: 'HttpErrorOut', description: 'Every non-422 error.' },
);

export const ValidationErrorOut = Type.Object(
  {
    detail: Type.Array(
      Type.Object({
        loc: Type.Array(Type.Union([Type.String(), Type.Integer()])),
        msg: Type.String(),
        type: Type.String(),
      }),
    ),
  },
  { title: 'HTTPValidationError', description: 'A 422: what was wrong, where.' },
);

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const IdPattern = '^[a-zA-Z0-9\\-_.]+$';
export const Uid = Type.String({ minLength: 1, maxLength: 256, pattern: IdPattern });
export const EventTypeName = Type.String({ minLength: 1, maxLength: 256, pattern: IdPattern });
export const Channel = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[a-zA-Z0-9\\-_.:+]+$',
});
export const Metadata = Type.Record(Type.String(), Type.String());
export const ThrottleRate = Type.Integer({ minimum: 1, maximum: 65535 });
export const DateTime = Type.String({ format: 'date-time' });

export const ListQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 50 })),
  iterator: Type.Optional(Nullable(Type.String())),
  order: Type.Optional(Type.Union([Type.Literal('ascending'), Type.Literal('descending')])),
};

export const ListResponse = <T extends TSchema>(item: T, name: string) =>
  Type.Object(
    {
      data: Type.Array(item),
      iterator: Nullable(Type.String()),
      prevIterator: Nullable(Type.String()),
      done: Type.Boolean(),
    },
    { title: `ListResponse_${name}_` },
  );

/** Standard error responses for the OpenAPI document. */
export const errorResponses = {
  400: ErrorOut,
  401: ErrorOut,
  403: ErrorOut,
  404: ErrorOut,
  409: ErrorOut,
  413: ErrorOut,
  422: ValidationErrorOut,
  429: ErrorOut,
};

export const NoContent = Type.Null({ description: 'No content' });
