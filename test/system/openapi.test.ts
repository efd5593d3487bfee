import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends } from '../support/backends.ts';
import {
  DOCUMENT_HOST,
  operationsOf,
  servedDocument,
  type OpenApiDocument,
  type Operation,
  type SchemaObject,
} from '../support/openapi.ts';

/** Follows a local `#/components/schemas/...` reference. */
function resolve(document: OpenApiDocument, schema: SchemaObject | undefined): SchemaObject | undefined {
  if (!schema?.$ref) return schema;
  const name = schema.$ref.replace('#/components/schemas/', '');
  return resolve(document, document.components?.schemas?.[name]);
}

function isProtected(operation: Operation): boolean {
  return (operation.security ?? []).length > 0;
}

/** A concrete URL for `path`: each path parameter filled with a value of the right shape. */
function concreteUrl(path: string): string {
  return path.replace(/\{[^}]+\}/g, '1');
}

const backend = databaseBackends[0]!; // the document does not depend on the database

describe('the OpenAPI document at /docs/json', () => {
  let t: TestApp;
  let document: OpenApiDocument;
  before(async () => {
    t = await buildTestApp(backend);
    document = await servedDocument(t);
  });
  after(() => t.close());

  test('every operation has a unique camelCase operationId and a summary', () => {
    const ids = new Set<string>();
    for (const { path, method, operation } of operationsOf(document)) {
      const where = `${method.toUpperCase()} ${path}`;
      assert.match(operation.operationId ?? '', /^[a-z][a-zA-Z0-9]*$/, `${where}: operationId`);
      assert.ok(!ids.has(operation.operationId!), `${where}: operationId ${operation.operationId} is used twice`);
      ids.add(operation.operationId!);
      assert.ok(operation.summary?.trim(), `${where}: summary`);
    }
  });

  test('every operation says whether it needs a token: security [] or the bearer scheme, and protected ones document 401', () => {
    assert.ok(document.components?.securitySchemes?.bearer, 'the bearer scheme is declared');
    for (const { path, method, operation } of operationsOf(document)) {
      const where = `${method.toUpperCase()} ${path}`;
      assert.ok(Array.isArray(operation.security), `${where}: security is declared`);
      if (isProtected(operation)) {
        assert.deepEqual(operation.security, [{ bearer: [] }], where);
        assert.ok(operation.responses['401'], `${where}: a protected operation documents 401`);
      }
    }
  });

  test('the declared security is what the routes do: protected ones answer 401 without a token, public ones ignore a stale one', async () => {
    for (const { path, method, operation } of operationsOf(document)) {
      const where = `${method.toUpperCase()} ${path}`;
      const url = concreteUrl(path);
      const methodName = method.toUpperCase() as 'GET';
      if (isProtected(operation)) {
        const res = await t.app.inject({ method: methodName, url });
        assert.equal(res.statusCode, 401, `${where} without a token: ${res.body}`);
      } else {
        const res = await t.app.inject({
          method: methodName,
          url,
          headers: { authorization: 'Bearer AAAAAAAAAAAAAAAAAAAAAAAAAA' },
        });
        assert.notEqual(res.statusCode, 401, `${where} with a stale token: ${res.body}`);
      }
    }
  });

  test('every error response (but 408 to late headers) is the error body: a message, a code from its enum, and the field to blame', () => {
    for (const { path, method, operation } of operationsOf(document)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!/^[45]/.test(status)) continue;
        const where = `${method.toUpperCase()} ${path} ${status}`;
        // Late headers get Node.js's own 408 with no body; a late body gets the error body.
        if (status === '408' && !operation.requestBody) {
          assert.equal(response.content, undefined, where);
          continue;
        }
        const schema = resolve(document, response.content?.['application/json']?.schema);
        assert.ok(schema, `${where}: a JSON body is documented`);
        const properties = schema.properties as Record<string, SchemaObject>;
        assert.deepEqual(schema.required, ['error', 'code'], where);
        assert.equal(properties.error?.type, 'string', where);
        assert.equal(properties.code?.type, 'string', where);
        assert.ok(Array.isArray(properties.code?.enum) && properties.code.enum.length > 0, `${where}: code has an enum`);
        assert.equal(properties.field?.type, 'string', where);
      }
    }
  });

  test('every operation with a body or a query documents 400, and every one documents 408, 500 and 503', () => {
    for (const { path, method, operation } of operationsOf(document)) {
      const where = `${method.toUpperCase()} ${path}`;
      const takesQuery = operation.parameters?.some((parameter) => parameter.in === 'query');
      if (operation.requestBody || takesQuery) assert.ok(operation.responses['400'], `${where}: 400`);
      assert.ok(operation.responses['408'], `${where}: 408`);
      assert.ok(operation.responses['500'], `${where}: 500`);
      assert.ok(operation.responses['503'], `${where}: 503`);
    }
  });

  test('servers name the address the document was fetched from; info carries the license', () => {
    assert.deepEqual(document.servers, [{ url: `http://${DOCUMENT_HOST}` }]);
    assert.ok(document.info.license?.name, 'info.license.name');
  });

  test('files are /uploads/{name}: one path parameter that generators accept', () => {
    const paths = Object.keys(document.paths).filter((path) => path.startsWith('/uploads'));
    assert.deepEqual(paths, ['/uploads/{name}']);
    for (const operation of Object.values(document.paths['/uploads/{name}']!)) {
      assert.deepEqual(
        operation.parameters?.map(({ name, in: where, required }) => ({ name, in: where, required })),
        [{ name: 'name', in: 'path', required: true }],
      );
    }
  });

  test('POST /signup documents its two phases as oneOf bodies, each with its own example', () => {
    const content = document.paths['/signup']!.post!.requestBody!.content['application/json']!;
    const variants = (content.schema!.oneOf as SchemaObject[]).map((variant) => resolve(document, variant)!);
    assert.equal(variants.length, 2);
    const requiredSets = variants.map((variant) => [...(variant.required as string[])].sort());
    assert.deepEqual(requiredSets, [
      ['name', 'phone_number'],
      ['otp', 'phone_number'],
    ]);
    const examples = Object.values(content.examples ?? {}).map((example) => example.value as Record<string, string>);
    assert.equal(examples.length, 2);
    assert.ok(examples.some((example) => example.name && !('otp' in example)));
    assert.ok(examples.some((example) => example.otp));
  });
});
