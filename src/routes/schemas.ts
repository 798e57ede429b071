import { Type, type TSchema, type SchemaOptions, type Static } from '@sinclair/typebox';

/**
 * `type: [T, "null"]` rather than anyOf, so a wrong value gets one clear error
 * instead of one per branch.
 */
export function Nullable<T extends TSchema>(schema: T, options: SchemaOptions = {}) {
  const { type } = schema as unknown as { type: string };
  return Type.Unsafe<Static<T> | null>({ ...schema, ...options, type: [type, 'null'] });
}

export const DateTime = (options: SchemaOptions = {}) =>
  Type.String({ format: 'date-time', maxLength: 40, examples: ['2026-12-04T20:00:00Z'], ...options });

export const Uuid = Type.String({ format: 'uuid' });
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });

export const FieldErrorSchema = Type.Object({ path: Type.String(), message: Type.String() });
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    errors: Type.Optional(Type.Array(FieldErrorSchema)),
  },
  { $id: undefined, description: 'RFC 9457 problem details (application/problem+json)' },
);

/** The error answers a route may give, documented with the problem schema. */
export function problems(...statuses: number[]): Record<number, typeof ProblemSchema> {
  return Object.fromEntries(statuses.map((status) => [status, ProblemSchema]));
}

export const bearer = [{ bearer: [] as string[] }];

/** A string enum as `enum`, which gives one clear error and a clean OpenAPI document. */
export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}
