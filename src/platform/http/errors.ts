import { Type } from 'typebox';
import { DependencyUnavailable } from '../dependency-unavailable.ts';

/** What an error code means and the status it comes with, as the OpenAPI document says it. */
export interface ErrorCodeDescription {
  status: number;
  description: string;
  /** The service saying no rather than a fault: not logged as a failed request. */
  expected?: boolean;
}

/** Error codes by name: clients switch on the code, never on the message. */
export type ErrorCodes = Readonly<Record<string, ErrorCodeDescription>>;

/** The codes of the HTTP mechanisms themselves; each feature registers its own beside them. */
export const PLATFORM_ERROR_CODES = {
  validation_failed: { status: 400, description: 'the request does not match the schema' },
  invalid_json: { status: 400, description: 'the body is not JSON' },
  body_too_large: { status: 413, description: 'the body is larger than the operation accepts' },
  unauthorized: { status: 401, description: 'no valid bearer token: missing, malformed, unknown, expired or revoked' },
  rate_limited: { status: 429, description: 'too many requests' },
  unsupported_media_type: { status: 415, description: 'the body is not of a type this operation accepts' },
  not_found: { status: 404, description: 'not found' },
  request_timeout: { status: 408, description: 'the body did not arrive in time' },
  service_unavailable: { status: 503, description: 'a dependency is unavailable or the server is shutting down' },
  internal: { status: 500, description: 'an unexpected failure; the details are logged, never answered' },
} as const satisfies ErrorCodes;

export type ErrorCode = string;

/** Every code the app answers with: the platform's and those each feature registers. */
export class ErrorCodeRegistry {
  private readonly codes = new Map<string, ErrorCodeDescription>(Object.entries(PLATFORM_ERROR_CODES));

  register(codes: ErrorCodes): this {
    for (const [code, description] of Object.entries(codes)) {
      if (this.codes.has(code)) throw new Error(`error code ${code} is registered twice`);
      this.codes.set(code, description);
    }
    return this;
  }

  names(): string[] {
    return [...this.codes.keys()];
  }

  withStatus(status: number): [code: string, description: ErrorCodeDescription][] {
    return [...this.codes].filter(([, description]) => description.status === status);
  }

  isExpected(code: string): boolean {
    return this.codes.get(code)?.expected === true;
  }
}

/** The code an error gets when whoever threw it named none. */
const CODE_BY_STATUS: Record<number, keyof typeof PLATFORM_ERROR_CODES> = {
  400: 'validation_failed',
  401: 'unauthorized',
  404: 'not_found',
  408: 'request_timeout',
  413: 'body_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'service_unavailable',
};

export function defaultCode(status: number): ErrorCode {
  return CODE_BY_STATUS[status] ?? (status >= 500 ? 'internal' : 'validation_failed');
}

export interface HttpErrorOptions {
  code?: ErrorCode;
  /** The one input to blame, when there is one. */
  field?: string;
  headers?: Record<string, string>;
}

/** An error a handler throws to answer with a 4xx/5xx status, a code, a message and optional headers. */
export class HttpError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly headers: Record<string, string>;

  constructor(
    readonly statusCode: number,
    message: string,
    { code = defaultCode(statusCode), field, headers = {} }: HttpErrorOptions = {},
  ) {
    super(message);
    this.name = 'HttpError';
    this.code = code;
    this.field = field;
    this.headers = headers;
  }
}

export interface ErrorBodyJson {
  error: string;
  code: ErrorCode;
  field?: string;
}

export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'For people; may change. Switch on `code`.' }),
    // Its enum, every registered code, is filled in by the OpenAPI document (platform/http/openapi.ts).
    code: Type.String({ description: 'Stable identifier of the error' }),
    field: Type.Optional(Type.String({ description: 'The input to blame, when one is' })),
  },
  { title: 'Error' },
);

// Fastify's own 4xx errors, each with the code that names what the client did.
const CODE_BY_FASTIFY_ERROR: Record<string, keyof typeof PLATFORM_ERROR_CODES> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
};

/**
 * Any error, as what the client is told. A server the request needs being out of reach is 503
 * with Retry-After, wherever it was met. A 5xx that no handler chose to explain (an HttpError)
 * says nothing more than "internal server error": no stack, no SQL.
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof DependencyUnavailable) {
    return new HttpError(503, `service unavailable (${error.message}): try again in a few seconds`, {
      code: 'service_unavailable',
      headers: { 'retry-after': String(error.retryAfterSeconds) },
    });
  }
  const { statusCode, code, message } = error as { statusCode?: unknown; code?: unknown; message?: string };
  const status = typeof statusCode === 'number' && statusCode >= 400 && statusCode < 600 ? statusCode : 500;
  if (status >= 500) return new HttpError(status, 'internal server error', { code: 'internal' });
  const named = typeof code === 'string' ? CODE_BY_FASTIFY_ERROR[code] : undefined;
  // JSON.parse's own errors (and prototype poisoning) arrive as SyntaxError with status 400.
  return new HttpError(status, message ?? 'bad request', {
    code: named ?? (error instanceof SyntaxError ? 'invalid_json' : defaultCode(status)),
  });
}

export function errorBody(error: HttpError): ErrorBodyJson {
  return error.field === undefined
    ? { error: error.message, code: error.code }
    : { error: error.message, code: error.code, field: error.field };
}

/** 404 for a request that names nothing this server has, in the words every not-found answer uses. */
export function notFound(request: { method: string; url: string }): HttpError {
  return new HttpError(404, `${request.method} ${request.url.split('?')[0]} not found`, { code: 'not_found' });
}
