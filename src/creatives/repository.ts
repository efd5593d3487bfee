import { Type, type Static } from 'typebox';
import type { Queryable } from '../platform/db/database.ts';

export const CreativeSchema = Type.Object(
  {
    id: Type.Integer(),
    creative_url: Type.String({ description: 'Path to fetch the image from, e.g. /uploads/<uuid>.png' }),
    scheduled_at: Type.String({ format: 'date' }),
    content_type: Type.Union([Type.String(), Type.Null()], { description: 'null for creatives the original server stored' }),
    size_bytes: Type.Union([Type.Integer(), Type.Null()], { description: 'null for creatives the original server stored' }),
    // A Date in code, RFC 3339 in JSON.
    created_at: Type.Unsafe<Date>(Type.String({ format: 'date-time' })),
  },
  { title: 'Creative' },
);

/** A creative as the API shows it: the uploader is not exposed. */
export type Creative = Static<typeof CreativeSchema>;

// The original server may still be inserting `./uploads/<name>` after migration 5 carried its
// rows forward; clients always get `/uploads/<name>`.
const COLUMNS = `id, regexp_replace(creative_url, '^\\./uploads/', '/uploads/') AS creative_url, scheduled_at,
  content_type, size_bytes, created_at`;

export interface NewCreative {
  userId: number;
  creativeUrl: string;
  scheduledAt: string;
  contentType: string;
  sizeBytes: number;
}

export async function insertCreative(db: Queryable, creative: NewCreative): Promise<Creative> {
  const { rows } = await db.query<Creative>(
    `INSERT INTO creatives (user_id, creative_url, scheduled_at, content_type, size_bytes)
     VALUES ($1, $2, $3, $4, $5)
     RETURNING ${COLUMNS}`,
    [creative.userId, creative.creativeUrl, creative.scheduledAt, creative.contentType, creative.sizeBytes],
  );
  return rows[0]!;
}

/** A position in one day's feed, which is ordered by (created_at, id). */
export interface FeedPosition {
  createdAt: Date;
  id: number;
}

export interface FeedPageQuery {
  date: string;
  /** Only creatives after this position. */
  after?: FeedPosition;
  limit: number;
}

export interface FeedPage {
  creatives: Creative[];
  more: boolean;
}

/**
 * One page of everyone's creatives scheduled on `date`, oldest upload first, ties by id, and
 * whether more follow. A keyset page: rows added meanwhile sort after every earlier page's, so
 * paging sees each row once.
 */
export async function findFeedPage(db: Queryable, query: FeedPageQuery): Promise<FeedPage> {
  const { rows } = await db.query<Creative>(
    `SELECT ${COLUMNS} FROM creatives
     WHERE scheduled_at = $1
       AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::bigint))
     ORDER BY created_at, id
     LIMIT $4`,
    [query.date, query.after?.createdAt ?? null, query.after?.id ?? null, query.limit + 1],
  );
  return { creatives: rows.slice(0, query.limit), more: rows.length > query.limit };
}

/** A position in a user's creatives, which are ordered by (scheduled_at, id). */
export interface CreativePosition {
  scheduledAt: string;
  id: number;
}

export interface OwnCreativesQuery {
  userId: number;
  /** Inclusive bounds on scheduled_at. */
  from?: string;
  to?: string;
  /** Only creatives after this position. */
  after?: CreativePosition;
  limit: number;
}

/** One page of a user's creatives by (scheduled_at, id), and whether more follow. */
export async function findOwnCreatives(
  db: Queryable,
  query: OwnCreativesQuery,
): Promise<{ creatives: Creative[]; more: boolean }> {
  const { rows } = await db.query<Creative>(
    `SELECT ${COLUMNS} FROM creatives
     WHERE user_id = $1
       AND ($2::date IS NULL OR scheduled_at >= $2)
       AND ($3::date IS NULL OR scheduled_at <= $3)
       AND ($4::date IS NULL OR (scheduled_at, id) > ($4, $5::bigint))
     ORDER BY scheduled_at, id
     LIMIT $6`,
    [
      query.userId,
      query.from ?? null,
      query.to ?? null,
      query.after?.scheduledAt ?? null,
      query.after?.id ?? null,
      query.limit + 1,
    ],
  );
  return { creatives: rows.slice(0, query.limit), more: rows.length > query.limit };
}

/** Deletes the user's creative `id`; returns its stored URL, or undefined if the user has no such creative. */
export async function deleteOwnCreative(db: Queryable, userId: number, id: number): Promise<string | undefined> {
  const { rows } = await db.query<{ creative_url: string }>(
    'DELETE FROM creatives WHERE id = $1 AND user_id = $2 RETURNING creative_url',
    [id, userId],
  );
  return rows[0]?.creative_url;
}
