import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyReply } from 'fastify';
import { addDays, isCalendarDate, todayIn } from '../calendar.ts';
import {
  CreativeSchema,
  deleteOwnCreative,
  findCreativesScheduledOn,
  findOwnCreatives,
  type CreativePosition,
} from '../data/creatives.ts';
import type { Queryable } from '../db/database.ts';
import type { FeedCache } from '../feed-cache.ts';
import { createAuthGuard } from '../http/auth.ts';
import { ErrorBody, HttpError } from '../http/errors.ts';
import type { Sessions } from '../sessions.ts';
import type { Storage } from '../storage/storage.ts';

export interface CreativesOptions {
  db: Queryable;
  storage: Storage;
  appTimezone: string;
  sessions: Sessions;
  feedCache: FeedCache;
}

const DEFAULT_PAGE = 50;
const MAX_PAGE = 100;
const protectedRoute = { security: [{ bearer: [] }] };
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** The shared feed, the caller's own creatives, and deleting one of them. */
export const creativesRoutes: FastifyPluginAsyncTypebox<CreativesOptions> = async (
  app,
  { db, storage, appTimezone, sessions, feedCache },
) => {
  app.addHook('preHandler', createAuthGuard(sessions));

  app.get(
    '/scheduled',
    {
      schema: {
        ...protectedRoute,
        tags: ['creatives'],
        summary: "Everyone's creatives for today and tomorrow, oldest upload first",
        querystring: Type.Object(
          { tz: Type.Optional(Type.String({ description: 'IANA time zone defining "today"; APP_TIMEZONE by default' })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            scheduled_creatives: Type.Object({ today: Type.Array(CreativeSchema), tomorrow: Type.Array(CreativeSchema) }),
          }),
          400: ErrorBody,
          401: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const zone = request.query.tz ?? appTimezone;
      let today: string;
      try {
        today = todayIn(zone);
      } catch (error) {
        if (error instanceof RangeError) throw new HttpError(400, `tz: unknown time zone "${zone}"`);
        throw error;
      }
      const body = await feedCache.get(today, async () => {
        const tomorrow = addDays(today, 1);
        const creatives = await findCreativesScheduledOn(db, [today, tomorrow]);
        // Serialized once per load, by the route's response schema; hits send the string as it is.
        return reply.serialize({
          scheduled_creatives: {
            today: creatives.filter((creative) => creative.scheduled_at === today),
            tomorrow: creatives.filter((creative) => creative.scheduled_at === tomorrow),
          },
        }) as string;
      });
      // A JSON string is sent without serializing it again (the schema types the object form).
      return (reply as FastifyReply).type(JSON_CONTENT_TYPE).send(body);
    },
  );

  app.get(
    '/creatives',
    {
      schema: {
        ...protectedRoute,
        tags: ['creatives'],
        summary: "The caller's own creatives by scheduled date, a page at a time",
        querystring: Type.Object(
          {
            from: Type.Optional(Type.String({ format: 'date', description: 'first scheduled date, inclusive' })),
            to: Type.Optional(Type.String({ format: 'date', description: 'last scheduled date, inclusive' })),
            limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE }),
            cursor: Type.Optional(Type.String({ description: 'next_cursor of the previous page' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            creatives: Type.Array(CreativeSchema),
            next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' }),
          }),
          400: ErrorBody,
          401: ErrorBody,
        },
      },
    },
    async (request) => {
      const { from, to, limit, cursor } = request.query;
      if (from !== undefined && to !== undefined && from > to) throw new HttpError(400, 'from must not be after to');
      const { creatives, more } = await findOwnCreatives(db, {
        userId: request.user!.id,
        from,
        to,
        after: cursor === undefined ? undefined : decodeCursor(cursor),
        limit,
      });
      const last = creatives.at(-1);
      return {
        creatives,
        next_cursor: more && last ? encodeCursor({ scheduledAt: last.scheduled_at, id: last.id }) : null,
      };
    },
  );

  app.delete(
    '/creatives/:id',
    {
      schema: {
        ...protectedRoute,
        tags: ['creatives'],
        summary: 'Delete one of your creatives and its file',
        params: Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }),
        response: { 204: Type.Null(), 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const url = await deleteOwnCreative(db, request.user!.id, request.params.id);
      if (url === undefined) throw new HttpError(404, 'creative not found');
      feedCache.invalidate();
      // The row is gone first, so no row ever points at a missing file; a file that cannot be
      // removed is only wasted space.
      const key = storage.keyFromUrl(url);
      if (key !== undefined) {
        await storage.delete(key).catch((err: unknown) => request.log.error({ err, key }, 'could not delete a creative file'));
      }
      return reply.code(204).send(null);
    },
  );
};

/** Opaque to clients: the position of the last creative of a page. */
function encodeCursor(position: CreativePosition): string {
  return Buffer.from(`${position.scheduledAt}/${position.id}`).toString('base64url');
}

function decodeCursor(cursor: string): CreativePosition {
  const match = /^(\d{4}-\d{2}-\d{2})\/(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  if (!match || !isCalendarDate(match[1]!)) throw new HttpError(400, 'cursor: not a cursor this API returned');
  return { scheduledAt: match[1]!, id: Number(match[2]) };
}
