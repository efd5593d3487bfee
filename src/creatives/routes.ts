import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyReply } from 'fastify';
import { addDays, isCalendarDate, todayIn } from '../platform/calendar.ts';
import { CreativeSchema, type CreativePosition, type FeedPosition } from './repository.ts';
import { ErrorBody, HttpError } from '../platform/http/errors.ts';
import type { CreativesService } from './service.ts';

export interface CreativesOptions {
  creatives: CreativesService;
  appTimezone: string;
}

const TimeZoneQuery = Type.Optional(Type.String({ description: 'IANA time zone defining "today"; APP_TIMEZONE by default' }));
const DEFAULT_PAGE = 50;
/** The largest `limit` of the paged routes. */
export const MAX_PAGE = 100;
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** The shared feed, the caller's own creatives, and deleting one of them. */
export const creativesRoutes: FastifyPluginAsyncTypebox<CreativesOptions> = async (app, { creatives, appTimezone }) => {
  /** Today in `zone`: APP_TIMEZONE unless the client names one. */
  const todayInZone = (zone = appTimezone): string => {
    try {
      return todayIn(zone);
    } catch (error) {
      if (error instanceof RangeError) throw new HttpError(400, `tz: unknown time zone "${zone}"`, { field: 'tz' });
      throw error;
    }
  };

  app.get(
    '/scheduled',
    {
      schema: {
        tags: ['creatives'],
        operationId: 'getScheduled',
        summary: "Everyone's creatives for today and tomorrow, oldest upload first, at most FEED_LIMIT a day",
        description:
          'FEED_LIMIT is in GET /meta (`feed_limit`); where a day has more, `truncated` says so and GET /feed pages through all of them.',
        querystring: Type.Object({ tz: TimeZoneQuery }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            scheduled_creatives: Type.Object({ today: Type.Array(CreativeSchema), tomorrow: Type.Array(CreativeSchema) }),
            truncated: Type.Object(
              { today: Type.Boolean(), tomorrow: Type.Boolean() },
              { description: 'true where the day has more than FEED_LIMIT creatives' },
            ),
          }),
          400: ErrorBody,
          401: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const today = todayInZone(request.query.tz);
      // Serialized once per load, by the route's response schema; hits send the string as it is.
      const body = await creatives.scheduledFeed(
        today,
        (feed) => reply.serialize({ scheduled_creatives: feed.creatives, truncated: feed.truncated }) as string,
      );
      // A JSON string is sent without serializing it again (the schema types the object form).
      return (reply as FastifyReply).type(JSON_CONTENT_TYPE).send(body);
    },
  );

  app.get(
    '/feed',
    {
      schema: {
        tags: ['creatives'],
        operationId: 'getFeed',
        summary: "One day of everyone's creatives (today or tomorrow), a page at a time, oldest upload first",
        description: 'Keyset pages: creatives uploaded while paging come after every page already read, so each is seen once.',
        querystring: Type.Object(
          {
            date: Type.String({ format: 'date', description: 'today or tomorrow in the zone' }),
            limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE }),
            cursor: Type.Optional(Type.String({ description: 'next_cursor of the previous page' })),
            tz: TimeZoneQuery,
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            date: Type.String({ format: 'date' }),
            creatives: Type.Array(CreativeSchema),
            next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' }),
          }),
          400: ErrorBody,
          401: ErrorBody,
        },
      },
    },
    async (request) => {
      const { date, limit, cursor, tz } = request.query;
      const today = todayInZone(tz);
      const tomorrow = addDays(today, 1);
      if (date !== today && date !== tomorrow) {
        throw new HttpError(400, `date must be today (${today}) or tomorrow (${tomorrow})`, { field: 'date' });
      }
      const after = cursor === undefined ? undefined : decodeFeedCursor(cursor);
      const page = await creatives.feedPage({ date, after, limit });
      const last = page.creatives.at(-1);
      return {
        date,
        creatives: page.creatives,
        next_cursor: page.more && last ? encodeFeedCursor({ createdAt: last.created_at, id: last.id }) : null,
      };
    },
  );

  app.get(
    '/creatives',
    {
      schema: {
        tags: ['creatives'],
        operationId: 'listMyCreatives',
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
      if (from !== undefined && to !== undefined && from > to)
        throw new HttpError(400, 'from must not be after to', { field: 'from' });
      const page = await creatives.listOwn({
        userId: request.user!.id,
        from,
        to,
        after: cursor === undefined ? undefined : decodeCursor(cursor),
        limit,
      });
      const last = page.creatives.at(-1);
      return {
        creatives: page.creatives,
        next_cursor: page.more && last ? encodeCursor({ scheduledAt: last.scheduled_at, id: last.id }) : null,
      };
    },
  );

  app.delete(
    '/creatives/:id',
    {
      schema: {
        tags: ['creatives'],
        operationId: 'deleteCreative',
        summary: 'Delete one of your creatives and its file',
        params: Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }),
        response: { 204: Type.Null(), 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      if (!(await creatives.delete(request.user!.id, request.params.id, request.log)))
        throw new HttpError(404, 'creative not found');
      return reply.code(204).send(null);
    },
  );
};

// Cursors are opaque to clients: `<position>/<id>` of the last creative of a page, in base64url.
const CURSOR = /^([0-9-]{1,16})\/(\d{1,15})$/;
const notACursor = () => new HttpError(400, 'cursor: not a cursor this API returned', { field: 'cursor' });

function encodeCursor(position: CreativePosition): string {
  return Buffer.from(`${position.scheduledAt}/${position.id}`).toString('base64url');
}

function decodeCursor(cursor: string): CreativePosition {
  const match = CURSOR.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  if (!match || !isCalendarDate(match[1]!)) throw notACursor();
  return { scheduledAt: match[1]!, id: Number(match[2]) };
}

// created_at has whole seconds (timestamp(0)), so milliseconds since the epoch are exact.
function encodeFeedCursor(position: FeedPosition): string {
  return Buffer.from(`${position.createdAt.getTime()}/${position.id}`).toString('base64url');
}

function decodeFeedCursor(cursor: string): FeedPosition {
  const match = CURSOR.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  if (!match || !/^\d+$/.test(match[1]!)) throw notACursor();
  const createdAt = new Date(Number(match[1]));
  // Past the last date a Date can hold (a tampered cursor): not a moment at all.
  if (Number.isNaN(createdAt.getTime())) throw notACursor();
  return { createdAt, id: Number(match[2]) };
}
