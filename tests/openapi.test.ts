import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import t from 'tap';
import { OPENAPI_FILE, renderOpenApi } from '../src/openapi.js';

type OpenApiDocument = Awaited<ReturnType<typeof SwaggerParser.validate>>;

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// Rendered once per file: each render builds the whole app.
const rendered = renderOpenApi();

t.test('the committed openapi.yaml matches the routes', async (t) => {
  const { yaml } = await rendered;
  const committed = existsSync(OPENAPI_FILE) ? await readFile(OPENAPI_FILE, 'utf8') : '';
  t.ok(committed !== '', 'openapi.yaml exists (when missing: run `npm run openapi` and commit the file)');
  t.equal(committed, yaml, 'openapi.yaml matches the routes (when not: run `npm run openapi` and commit the file)');
});

t.test('the document is a valid OpenAPI 3.1 document', async (t) => {
  const { document } = await rendered;
  t.equal(document.openapi, '3.1.0');
  // swagger-parser dereferences and validates against the OpenAPI 3.1 schema (it works on its
  // argument in place, hence the copy).
  await t.resolves(SwaggerParser.validate(structuredClone(document) as OpenApiDocument), 'swagger-parser accepts it');
});

// For 3.1 documents swagger-parser checks the document's structure only: it does not check
// the JSON Schemas inside it, nor path parameters against path templates. These do.
t.test('every schema in the document is a valid JSON Schema 2020-12', async (t) => {
  const { document } = await rendered;
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  const problems: string[] = [];
  const visit = (node: unknown, pointer: string): void => {
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      const at = `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      if (key === 'schema' && value !== null && typeof value === 'object') {
        if (!ajv.validateSchema(value)) problems.push(`${at}: ${ajv.errorsText(ajv.errors)}`);
      } else {
        visit(value, at);
      }
    }
  };
  visit(document.paths, '#/paths');
  const components = (document.components ?? {}) as { schemas?: Record<string, unknown> };
  for (const [name, schema] of Object.entries(components.schemas ?? {})) {
    if (!ajv.validateSchema(schema as object)) problems.push(`#/components/schemas/${name}: ${ajv.errorsText(ajv.errors)}`);
  }
  t.same(problems, [], 'no invalid schemas');
});

t.test('path parameters match the path templates and operation ids are unique', async (t) => {
  const { document } = await rendered;
  const problems: string[] = [];
  const operationIds = new Set<string>();
  type Parameter = { in?: string; name?: string; required?: boolean };
  type Operation = { parameters?: Parameter[]; operationId?: string };
  for (const [path, item] of Object.entries((document.paths ?? {}) as Record<string, Record<string, unknown>>)) {
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
    const shared = ((item.parameters ?? []) as Parameter[]).filter((p) => p.in === 'path');
    for (const method of HTTP_METHODS) {
      const operation = item[method] as Operation | undefined;
      if (!operation) continue;
      const declared = [...shared, ...(operation.parameters ?? []).filter((p) => p.in === 'path')];
      for (const name of templated) {
        if (!declared.some((p) => p.name === name && p.required === true)) {
          problems.push(`${method.toUpperCase()} ${path}: path parameter "${name}" is not declared as required`);
        }
      }
      for (const parameter of declared) {
        if (!templated.includes(parameter.name)) {
          problems.push(`${method.toUpperCase()} ${path}: path parameter "${parameter.name}" is not in the path`);
        }
      }
      if (operation.operationId !== undefined) {
        if (operationIds.has(operation.operationId)) problems.push(`duplicate operationId "${operation.operationId}"`);
        operationIds.add(operation.operationId);
      }
    }
  }
  t.same(problems, [], 'no parameter or operationId problems');
});
