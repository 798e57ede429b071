import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { UUID_PATTERN } from '../ids.js';

// ajv-formats is CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const common: Options = {
  // Unknown properties are an error, never silently dropped (no mass assignment).
  removeAdditional: false,
  useDefaults: true,
  allErrors: true,
  strict: false,
};

interface StringFormat {
  validate: (value: string) => boolean;
  compare?: (a: string, b: string) => number | undefined;
}

export function createAjv(options: Options): Ajv {
  const ajv = new Ajv({ ...common, ...options });
  addFormats(ajv);
  // RFC 3339 allows a leap second (23:59:60Z), which JavaScript cannot represent: such a value
  // would pass the schema and become an Invalid Date further on (a 500). Refuse it here.
  const dateTime = ajv.formats['date-time'] as StringFormat;
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (value: string) => dateTime.validate(value) && !Number.isNaN(Date.parse(value)),
    ...(dateTime.compare ? { compare: dateTime.compare } : {}),
  });
  // ajv-formats' uuid also takes a "urn:uuid:" prefix, which Postgres refuses (a 500 once it
  // reaches a query): plain UUIDs only, in either case.
  ajv.addFormat('uuid', UUID_PATTERN);
  return ajv;
}

/**
 * JSON bodies are validated exactly as sent (a string "100" is not a capacity), while query
 * strings and path parameters, which are always text, are coerced to the declared types.
 */
export function registerValidation(app: FastifyInstance): void {
  const strict = createAjv({ coerceTypes: false });
  const coercing = createAjv({ coerceTypes: 'array' });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : coercing).compile(schema as FastifySchema & object),
  );
}
