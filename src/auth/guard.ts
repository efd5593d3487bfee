import type { FastifyInstance } from 'fastify';
import { ErrorBody, HttpError } from '../platform/http/errors.ts';
import type { Sessions } from './sessions.ts';
import { TOKEN_PATTERN } from './tokens.ts';
import type { User } from './users.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the guard in the protected scope; null elsewhere (public routes ignore the header). */
    user: User | null;
    /** The bearer token the request was authenticated with. */
    token: string | null;
  }
}

/** Every 401 names the scheme the client should use. */
export function unauthorized(message: string, code: 'unauthorized' | 'invalid_otp' = 'unauthorized'): HttpError {
  return new HttpError(401, message, { code, headers: { 'www-authenticate': 'Bearer' } });
}

/** The token from `Authorization: Bearer <token>` (scheme case-insensitive); undefined if absent. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^bearer +(\S+) *$/i.exec(header);
  if (!match || !TOKEN_PATTERN.test(match[1]!)) throw unauthorized('invalid or missing authentication token');
  return match[1]!;
}

/**
 * Makes every route registered in `scope` (and its children) protected: a live bearer token is
 * required before anything else happens, the body included, and the OpenAPI document says so.
 */
export function protectScope(scope: FastifyInstance, sessions: Sessions): void {
  scope.addHook('onRoute', (route) => {
    const schema = route.schema ?? {};
    route.schema = {
      ...schema,
      security: [{ bearer: [] }],
      response: { ...(schema.response as object | undefined), 401: ErrorBody },
    };
  });
  scope.addHook('onRequest', async (request) => {
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) throw unauthorized('you must be authenticated to access this resource');
    const user = await sessions.userFor(token);
    if (!user) throw unauthorized('invalid or missing authentication token');
    request.user = user;
    request.token = token;
  });
}
