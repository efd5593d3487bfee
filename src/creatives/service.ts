import type { FastifyBaseLogger } from 'fastify';
import type { Queryable } from '../platform/db/database.ts';
import { addDays } from '../platform/calendar.ts';
import type { FeedCache } from './feed-cache.ts';
import {
  deleteOwnCreative,
  findFeedPage,
  findOwnCreatives,
  insertCreative,
  type Creative,
  type FeedPage,
  type FeedPageQuery,
  type NewCreative,
  type OwnCreativesQuery,
} from './repository.ts';
import { publicFileUrl, type PendingObject, type Storage } from './storage/storage.ts';
import type { UploadLimits } from './upload-limits.ts';

/** Today's and tomorrow's creatives, at most FEED_LIMIT each, and where more exist. */
export interface ScheduledFeed {
  creatives: { today: Creative[]; tomorrow: Creative[] };
  truncated: { today: boolean; tomorrow: boolean };
}

/**
 * The only writer of creatives: a row is recorded only once its file is published, a file whose
 * row cannot be recorded is removed, and every write invalidates this instance's feed cache.
 */
export class CreativesService {
  constructor(
    private readonly db: Queryable,
    readonly storage: Storage,
    private readonly feedCache: FeedCache,
    private readonly logger: FastifyBaseLogger,
    /** Per-person upload limits, checked again as each row is recorded. */
    readonly limits: UploadLimits,
    private readonly feedLimit: number,
    private readonly publicFilesUrl?: string,
  ) {}

  /** Publishes `object` and records it; on failure nothing of it remains. */
  async create(object: PendingObject, creative: Omit<NewCreative, 'creativeUrl' | 'sizeBytes'>): Promise<Creative> {
    await object.commit();
    let created: Creative;
    try {
      created = await this.limits.record(creative.userId, object.size, (tx) =>
        insertCreative(tx, { ...creative, creativeUrl: this.storage.url(object.key), sizeBytes: object.size }),
      );
    } catch (error) {
      // No row, so no file: the client is told it failed and may simply retry.
      await this.removeFile(object.key, 'could not remove an unrecorded upload');
      throw error;
    }
    this.feedCache.invalidate();
    return this.present(created);
  }

  /** Deletes the user's creative `id` and its file; false when the user has no such creative. */
  async delete(userId: number, id: number): Promise<boolean> {
    const url = await deleteOwnCreative(this.db, userId, id);
    if (url === undefined) return false;
    this.feedCache.invalidate();
    // The row is gone first, so no row ever points at a missing file; a file that cannot be
    // removed is only wasted space.
    const key = this.storage.keyFromUrl(url);
    if (key !== undefined) await this.removeFile(key, 'could not delete a creative file');
    return true;
  }

  /**
   * The serialized feed for `today` and the day after, from the cache when it is fresh.
   * `serialize` turns it into the body, once per load.
   */
  scheduledFeed(today: string, serialize: (feed: ScheduledFeed) => string): Promise<string> {
    return this.feedCache.get(today, async () => {
      const [todays, tomorrows] = await Promise.all([
        findFeedPage(this.db, { date: today, limit: this.feedLimit }),
        findFeedPage(this.db, { date: addDays(today, 1), limit: this.feedLimit }),
      ]);
      return serialize({
        creatives: {
          today: todays.creatives.map((c) => this.present(c)),
          tomorrow: tomorrows.creatives.map((c) => this.present(c)),
        },
        truncated: { today: todays.more, tomorrow: tomorrows.more },
      });
    });
  }

  /** One page of one day's feed (GET /feed), not cached: pages are many and each is read once. */
  async feedPage(query: FeedPageQuery): Promise<FeedPage> {
    const page = await findFeedPage(this.db, query);
    return { ...page, creatives: page.creatives.map((creative) => this.present(creative)) };
  }

  async listOwn(query: OwnCreativesQuery): Promise<{ creatives: Creative[]; more: boolean }> {
    const page = await findOwnCreatives(this.db, query);
    return { ...page, creatives: page.creatives.map((creative) => this.present(creative)) };
  }

  /** A creative as clients see it: its file URL under PUBLIC_FILES_URL when that is set. */
  private present(creative: Creative): Creative {
    return { ...creative, creative_url: publicFileUrl(creative.creative_url, this.publicFilesUrl) };
  }

  private async removeFile(key: string, problem: string): Promise<void> {
    await this.storage.delete(key).catch((err: unknown) => this.logger.error({ err, key }, problem));
  }
}
