import { Type } from 'typebox';
import { DependencyUnavailable } from '../dependency-unavailable.ts';

/** Every error body's `code`: clients switch on it, never on the message. */
export const ERROR_CODES = [
  'validation_failed',
  'invalid_json',
  'body_too_large',
  'unauthorized',
  'invalid_otp',
  'rate_limited',
  'sms_budget_exhausted',
  'country_not_allowed',
  'number_type_not_allowed',
  'unsupported_media_type',
  'file_too_large',
  'image_too_large',
  'quota_exceeded',
  'insufficient_storage',
  'not_found',
  'range_not_satisfiable',
  'request_timeout',
  'service_unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** The code an error gets when whoever threw it named none. */
const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'validation_failed',
  401: 'unauthorized',
  404: 'not_found',
  408: 'request_timeout',
  413: 'body_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'service_unavailable',
  507: 'insufficient_storage',
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
    code: Type.Unsafe<ErrorCode>({ type: 'string', enum: [...ERROR_CODES], description: 'Stable identifier of the error' }),
    field: Type.Optional(Type.String({ description: 'The input to blame, when one is' })),
  },
  { title: 'Error' },
);

// Fastify's own 4xx errors, each with the code that names what the client did.
const CODE_BY_FASTIFY_ERROR: Record<string, ErrorCode> = {
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
