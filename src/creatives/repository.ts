import { Type, type Static } from 'typebox';
import type { Queryable } from '../platform/db/database.ts';
import type { StoredImage } from './stored-image.ts';

const NOT_YET = 'null for creatives stored before variants existed, until `npm run creatives:backfill` runs';

export const CreativeSchema = Type.Object(
  {
    id: Type.Integer(),
    creative_url: Type.String({ description: 'Path to fetch the image from, e.g. /uploads/<uuid>.png' }),
    scheduled_at: Type.String({ format: 'date' }),
    content_type: Type.Union([Type.String(), Type.Null()], { description: 'null for creatives the original server stored' }),
    size_bytes: Type.Union([Type.Integer(), Type.Null()], { description: 'null for creatives the original server stored' }),
    width: Type.Union([Type.Integer(), Type.Null()], { description: `As displayed (EXIF orientation applied); ${NOT_YET}` }),
    height: Type.Union([Type.Integer(), Type.Null()], { description: `As displayed; ${NOT_YET}` }),
    variants: Type.Union(
      [
        Type.Object({
          thumb: Type.String({ description: 'WebP, 320 px wide (never wider than the image), first frame' }),
          feed: Type.String({ description: 'WebP, 1080 px wide (never wider than the image), first frame' }),
        }),
        Type.Null(),
      ],
      { description: NOT_YET },
    ),
    placeholder: Type.Union([Type.String(), Type.Null()], {
      description: `ThumbHash (base64) shown while the image loads; ${NOT_YET}`,
    }),
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
  content_type, size_bytes, width, height,
  CASE WHEN thumb_url IS NULL THEN NULL ELSE json_build_object('thumb', thumb_url, 'feed', feed_url) END AS variants,
  placeholder, created_at`;

export interface NewCreative {
  userId: number;
  scheduledAt: string;
  image: StoredImage;
}

/** The columns an image fills, from $<first> on. */
const IMAGE_COLUMNS = ['creative_url', 'content_type', 'size_bytes', 'width', 'height', 'thumb_url', 'feed_url', 'placeholder'];
const imageValues = (image: StoredImage) => [
  image.creativeUrl,
  image.contentType,
  image.sizeBytes,
  image.width,
  image.height,
  image.variantUrls.thumb,
  image.variantUrls.feed,
  image.placeholder,
];

export async function insertCreative(db: Queryable, creative: NewCreative): Promise<Creative> {
  const { rows } = await db.query<Creative>(
    `INSERT INTO creatives (user_id, scheduled_at, ${IMAGE_COLUMNS.join(', ')})
     VALUES ($1, $2, ${IMAGE_COLUMNS.map((_, i) => `$${i + 3}`).join(', ')})
     RETURNING ${COLUMNS}`,
    [creative.userId, creative.scheduledAt, ...imageValues(creative.image)],
  );
  return rows[0]!;
}

/** A creative still without variants: `url` is its creative_url exactly as stored. */
export interface UnprocessedCreative {
  id: number;
  url: string;
}

export async function countUnprocessedCreatives(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM creatives WHERE width IS NULL');
  return rows[0]!.n;
}

/** Up to `limit` creatives without variants after id `afterId`, by id. */
export async function findUnprocessedCreatives(db: Queryable, afterId: number, limit: number): Promise<UnprocessedCreative[]> {
  const { rows } = await db.query<UnprocessedCreative>(
    'SELECT id, creative_url AS url FROM creatives WHERE width IS NULL AND id > $1 ORDER BY id LIMIT $2',
    [afterId, limit],
  );
  return rows;
}

/**
 * Gives an unprocessed creative its processed image, unless it was deleted, processed or changed
 * meanwhile; true when it did.
 */
export async function recordProcessedImage(db: Queryable, creative: UnprocessedCreative, image: StoredImage): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE creatives SET ${IMAGE_COLUMNS.map((column, i) => `${column} = $${i + 3}`).join(', ')}
     WHERE id = $1 AND creative_url = $2 AND width IS NULL`,
    [creative.id, creative.url, ...imageValues(image)],
  );
  return rowCount === 1;
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

/** Deletes the user's creative `id`; returns the URLs of its files, or undefined if the user has no such creative. */
export async function deleteOwnCreative(db: Queryable, userId: number, id: number): Promise<string[] | undefined> {
  const { rows } = await db.query<{ creative_url: string; thumb_url: string | null; feed_url: string | null }>(
    'DELETE FROM creatives WHERE id = $1 AND user_id = $2 RETURNING creative_url, thumb_url, feed_url',
    [id, userId],
  );
  const row = rows[0];
  return row && [row.creative_url, row.thumb_url, row.feed_url].filter((url) => url !== null);
}

/**
 * The URL of the file that now stands for `name`, a file name a creative had before it was renamed
 * (recorded by migration 11's trigger); undefined when no creative had it.
 */
export async function findRenamedFileUrl(db: Queryable, name: string): Promise<string | undefined> {
  const { rows } = await db.query<{ url: string | null }>(
    `SELECT CASE a.file WHEN 'original' THEN c.creative_url WHEN 'thumb' THEN c.thumb_url ELSE c.feed_url END AS url
     FROM creative_file_aliases a JOIN creatives c ON c.id = a.creative_id
     WHERE a.name = $1`,
    [name],
  );
  return rows[0]?.url ?? undefined;
}
