/** An error a handler throws to answer with a 4xx/5xx status, a message and optional headers. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const ErrorBody = {
  type: 'object',
  properties: { error: { type: 'string' } },
  required: ['error'],
} as const;
