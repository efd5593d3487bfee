import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { FastifySwaggerUiOptions } from '@fastify/swagger-ui';
import type { FastifySchema } from 'fastify';
import { ErrorBody, type ErrorCodeRegistry } from './errors.ts';

type JsonSchema = Record<string, unknown>;

/** What a route tells the document beyond its validation and serialization schemas (`config.openapi`). */
export interface RouteDocumentation {
  /** The body as clients should read it where validation keeps another shape (e.g. two phases as oneOf). */
  body?: object;
  /** Responses by status as documented, where the serializer keeps another shape or there is none (files). */
  response?: Record<number, object>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    openapi?: RouteDocumentation;
  }
}

const RETRY_AFTER = { 'Retry-After': { type: 'integer', description: 'Seconds until the request may succeed' } };

/** What each error status means and the headers that come with it; the codes come from the registry. */
const ERROR_STATUSES: Record<number, { description: string; headers?: JsonSchema }> = {
  400: { description: 'The request is invalid; `field` names the input to blame when there is one' },
  401: {
    description: 'Not authenticated',
    headers: { 'WWW-Authenticate': { type: 'string', description: 'Always `Bearer`' } },
  },
  404: { description: 'Not found' },
  408: {
    description: 'The body did not arrive within REQUEST_TIMEOUT_SECONDS, or an upload paused too long; the connection is closed',
  },
  413: { description: 'Too large' },
  415: { description: 'The body is not of a type this operation accepts' },
  416: { description: 'The requested range is outside the file' },
  429: { description: 'Too many requests', headers: RETRY_AFTER },
  500: { description: 'An unexpected failure; the details are logged, never answered' },
  503: { description: 'The service cannot answer now', headers: RETRY_AFTER },
  507: { description: 'The server has no room to store the upload' },
};

/** A status as documented: its meaning, then each code it may carry and what that code says. */
function errorResponse(status: number, codes: ErrorCodeRegistry): { description: string; headers?: JsonSchema } {
  const { description, headers } = ERROR_STATUSES[status] ?? { description: 'Refused' };
  const named = codes.withStatus(status).map(([code, meaning]) => `\`${code}\`: ${meaning.description}`);
  return { description: named.length > 0 ? `${description} (${named.join('; ')})` : description, headers };
}

const LATE_HEADERS = 'The request headers did not arrive within 10 s; the connection is closed, with no body';

const SUCCESS_DESCRIPTIONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'Done; no body',
  206: 'The requested range',
  304: 'Not modified since the ETag given in If-None-Match',
};

const capitalised = (word: string) => word[0]!.toUpperCase() + word.slice(1);

/** `getCreativesById` for `GET /creatives/{id}`: the fallback for a route that names no operationId. */
function derivedOperationId(method: string, path: string): string {
  const words = path
    .split('/')
    .map((segment) => segment.replace(/^\{(.*)\}$/, 'by-$1'))
    .flatMap((segment) => segment.split(/[^a-zA-Z0-9]+/))
    .filter(Boolean);
  return [method, ...words.map(capitalised)].join('');
}

/**
 * Every operation gets an operationId, unique in the document: a route that names none gets one
 * from its method and path, and a route registered for several methods (GET and HEAD) keeps its
 * name for GET while the others say their method instead of `get`.
 */
function nameOperations(paths: Record<string, Record<string, { operationId?: string }>>): void {
  for (const [path, item] of Object.entries(paths)) {
    const seen = new Set<string>();
    const methods = Object.keys(item).sort((a, b) => Number(b === 'get') - Number(a === 'get'));
    for (const method of methods) {
      const operation = item[method]!;
      let id = operation.operationId ?? derivedOperationId(method, path);
      if (seen.has(id)) id = method + capitalised(id.replace(/^get(?=[A-Z])/, ''));
      seen.add(id);
      item[method] = { ...operation, operationId: id };
    }
  }
}

/** Validation fills in a parameter's default, so a client may leave out any that has one. */
function optionalWhereDefaulted(schema: JsonSchema): JsonSchema {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = ((schema.required ?? []) as string[]).filter((name) => properties[name]?.default === undefined);
  return { ...schema, required };
}

/** Whether validating these path parameters can refuse a request (a plain string cannot be refused). */
function constrainsValues(params: JsonSchema): boolean {
  const properties = Object.values((params.properties ?? {}) as Record<string, JsonSchema>);
  return properties.some(
    (property) => Object.keys(property).some((key) => key !== 'description' && key !== 'type') || property.type !== 'string',
  );
}

/** The error body every route shares, as opposed to one that adds to it (readiness names its dependencies). */
function isSharedErrorBody(schema: JsonSchema | undefined): boolean {
  return schema === undefined || JSON.stringify(schema) === JSON.stringify(ErrorBody);
}

/**
 * One route as the document shows it: its security (none unless the route, or the scope that
 * guards it, declares one), every status it can answer (errors with the error body), and its
 * documentation-only overrides.
 */
function documentRoute(schema: FastifySchema, documentation: RouteDocumentation, codes: ErrorCodeRegistry): FastifySchema {
  const security = schema.security ?? [];
  const params = schema.params as JsonSchema | undefined;

  const declaredResponses = (schema.response ?? {}) as Record<number, JsonSchema>;
  const querystring = schema.querystring ? optionalWhereDefaulted(schema.querystring as JsonSchema) : undefined;
  const statuses = new Set(Object.keys(declaredResponses).map(Number));
  for (const status of Object.keys(documentation.response ?? {})) statuses.add(Number(status));
  const takesBody = schema.body !== undefined;
  if (takesBody || querystring !== undefined || (params !== undefined && constrainsValues(params))) statuses.add(400);
  if (security.length > 0) statuses.add(401);
  if (takesBody) [413, 415].forEach((status) => statuses.add(status));
  [408, 500, 503].forEach((status) => statuses.add(status));

  const response: Record<number, unknown> = {};
  for (const status of [...statuses].sort((a, b) => a - b)) {
    const declared = (documentation.response?.[status] ?? declaredResponses[status]) as JsonSchema | undefined;
    if (status === 408 && !takesBody) {
      // Headers that do not arrive within 10 s: Node.js's HTTP server answers before any route runs.
      response[status] = { type: 'null', 'x-response-description': LATE_HEADERS };
    } else if (status >= 400) {
      const { description, headers } = errorResponse(status, codes);
      const body = isSharedErrorBody(declared) ? ErrorBody : declared;
      response[status] = { ...body, 'x-response-description': description, ...(headers && { headers }) };
    } else {
      const description =
        (declared?.description as string | undefined) ??
        SUCCESS_DESCRIPTIONS[status] ??
        ERROR_STATUSES[status]?.description ??
        'Answered';
      response[status] = { 'x-response-description': description, ...declared };
    }
  }

  return {
    ...schema,
    security,
    ...(querystring && { querystring }),
    ...(documentation.body && { body: documentation.body }),
    response,
  };
}

/**
 * Moves every schema with a `title` into `components.schemas` under that title and refers to it,
 * so generated clients get named types (`components['schemas']['Creative']`) instead of one
 * anonymous copy per operation.
 */
function hoistTitledSchemas<T extends { paths?: unknown; components?: { schemas?: Record<string, unknown> } }>(document: T): T {
  const named: Record<string, unknown> = { ...document.components?.schemas };
  const hoist = (node: unknown, position: Position): unknown => {
    if (node === null || typeof node !== 'object') return node;
    if (Array.isArray(node)) return node.map((item) => hoist(item, position));
    const entries = Object.entries(node).map(([key, value]) => [key, hoist(value, childPosition(key, position))] as const);
    const copy: JsonSchema = Object.fromEntries(entries);
    if (position !== 'schema' || typeof copy.title !== 'string') return copy;
    const { title, ...schema } = copy;
    const existing = named[title];
    if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(schema)) {
      throw new Error(`OpenAPI: two different schemas are titled ${title}`);
    }
    named[title] = schema;
    return { $ref: `#/components/schemas/${title}` };
  };
  const paths = hoist(document.paths, 'document');
  return { ...document, paths, components: { ...document.components, schemas: named } };
}

/** Where a node sits: around schemas, in a schema, in a map of named schemas (`properties`), or in data. */
type Position = 'document' | 'schema' | 'schemas' | 'data';

function childPosition(key: string, parent: Position): Position {
  if (parent === 'data') return 'data';
  if (parent === 'schemas') return 'schema';
  if (parent === 'document') return key === 'schema' ? 'schema' : 'document';
  if (key === 'properties' || key === 'patternProperties') return 'schemas';
  // Anything else in a schema (enum values, examples) is data, whatever it looks like.
  return ['items', 'additionalProperties', 'not', 'oneOf', 'anyOf', 'allOf'].includes(key) ? 'schema' : 'data';
}

export interface OpenApiDocumentOptions {
  info: { title: string; version: string; description?: string; license: { name: string; url?: string } };
  /** Every error code the app answers with: the enum of each error body's `code`. */
  errorCodes: ErrorCodeRegistry;
}

/** Gives every error body's `code` (the shared body's, and those that extend it) the enum of the registered codes. */
function listErrorCodes(node: unknown, codes: string[]): void {
  if (node === null || typeof node !== 'object') return;
  for (const child of Object.values(node)) listErrorCodes(child, codes);
  const properties = (node as JsonSchema).properties as Record<string, JsonSchema> | undefined;
  if (properties?.code && JSON.stringify(properties.code) === JSON.stringify(ErrorBody.properties.code)) {
    properties.code = { ...properties.code, enum: codes };
  }
}

/** @fastify/swagger's options: every route documented by `documentRoute`, named schemas hoisted. */
export function swaggerOptions({ info, errorCodes }: OpenApiDocumentOptions): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: '3.0.3',
      info,
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The token POST /signup issues' } },
      },
    },
    transform: ({ schema, url, route }) => ({ schema: documentRoute(schema, route.config?.openapi ?? {}, errorCodes), url }),
    transformObject: (document) => {
      const openapi = hoistTitledSchemas('openapiObject' in document ? document.openapiObject : document.swaggerObject);
      nameOperations(openapi.paths as Parameters<typeof nameOperations>[0]);
      listErrorCodes(openapi, errorCodes.names());
      return openapi;
    },
  };
}

/**
 * @fastify/swagger-ui at /docs. The document names the server it was fetched from (as the client
 * addressed it, behind a trusted proxy as the proxy says), so generated clients need no base URL.
 */
export function swaggerUiOptions(): FastifySwaggerUiOptions {
  return {
    routePrefix: '/docs',
    staticCSP: true,
    transformSpecification: (document, request) => ({
      ...document,
      servers: [{ url: request.host ? `${request.protocol}://${request.host}` : '/' }],
    }),
  };
}
