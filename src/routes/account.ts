import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDependencies } from '../app.ts';
import { UserSchema, type User } from '../data/users.ts';
import { createAuthGuard } from '../http/auth.ts';
import { ErrorBody } from '../http/errors.ts';

/** A user as the API shows it (`created_at` in RFC 3339). */
export function userJson(user: User) {
  return { ...user, created_at: user.created_at.toISOString() };
}

export type AccountOptions = Pick<AppDependencies, 'sessions'>;

/** The signed-in person: who they are, and signing out of this session or of all of them. */
export const accountRoutes: FastifyPluginAsyncTypebox<AccountOptions> = async (app, { sessions }) => {
  const authenticate = createAuthGuard(sessions);
  const security = [{ bearer: [] }];

  app.get(
    '/me',
    {
      preHandler: authenticate,
      schema: {
        tags: ['auth'],
        summary: 'The signed-in user',
        security,
        response: { 200: Type.Object({ user: UserSchema }), 401: ErrorBody },
      },
    },
    async (request) => ({ user: userJson(request.user!) }),
  );

  app.post(
    '/logout',
    {
      preHandler: authenticate,
      schema: {
        tags: ['auth'],
        summary: 'Revoke the token used (or, with all=true, every token of the user)',
        security,
        querystring: Type.Object({ all: Type.Boolean({ default: false }) }, { additionalProperties: false }),
        response: { 204: Type.Null(), 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (request, reply) => {
      if (request.query.all) await sessions.revokeAllForUser(request.user!.id);
      else await sessions.revoke(request.token!);
      return reply.code(204).send(null);
    },
  );
};
