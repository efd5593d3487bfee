import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ErrorBody } from '../platform/http/errors.ts';
import { auditAuth } from './audit.ts';
import type { Sessions } from './sessions.ts';
import { UserSchema, userJson } from './users.ts';

/** The signed-in person: who they are, and signing out of this session or of all of them. Protected. */
export const accountRoutes: FastifyPluginAsyncTypebox<{ sessions: Sessions }> = async (app, { sessions }) => {
  app.get(
    '/me',
    {
      schema: {
        tags: ['auth'],
        operationId: 'getMe',
        summary: 'The signed-in user',
        response: { 200: Type.Object({ user: UserSchema }) },
      },
    },
    async (request) => ({ user: userJson(request.user!) }),
  );

  app.post(
    '/logout',
    {
      schema: {
        tags: ['auth'],
        operationId: 'logOut',
        summary: 'Revoke the token used (or, with all=true, every token of the user)',
        querystring: Type.Object({ all: Type.Boolean({ default: false }) }, { additionalProperties: false }),
        response: { 204: Type.Null(), 400: ErrorBody },
      },
    },
    async (request, reply) => {
      const { all } = request.query;
      const userId = request.user!.id;
      const revoked = all ? await sessions.revokeAllForUser(userId) : await sessions.revoke(request.token!);
      auditAuth(request.log, 'logged_out', { user_id: userId, all, revoked });
      return reply.code(204).send(null);
    },
  );
};
