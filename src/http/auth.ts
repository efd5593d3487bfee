import type { preHandlerAsyncHookHandler } from 'fastify';
import { TOKEN_PATTERN } from '../data/tokens.ts';
import type { User } from '../data/users.ts';
import type { Sessions } from '../sessions.ts';
import { HttpError } from './errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth guard on protected routes; null elsewhere (public routes ignore the header). */
    user: User | null;
    /** The bearer token the request was authenticated with. */
    token: string | null;
  }
}

/** Every 401 names the scheme the client should use. */
export function unauthorized(message: string): HttpError {
  return new HttpError(401, message, { 'www-authenticate': 'Bearer' });
}

/** The token from `Authorization: Bearer <token>` (scheme case-insensitive); undefined if absent. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^bearer +(\S+) *$/i.exec(header);
  if (!match || !TOKEN_PATTERN.test(match[1]!)) throw unauthorized('invalid or missing authentication token');
  return match[1]!;
}

/** preHandler for protected routes: 401 unless the request carries a live bearer token. */
export function createAuthGuard(sessions: Sessions): preHandlerAsyncHookHandler {
  return async (request) => {
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) throw unauthorized('you must be authenticated to access this resource');
    const user = await sessions.userFor(token);
    if (!user) throw unauthorized('invalid or missing authentication token');
    request.user = user;
    request.token = token;
  };
}
