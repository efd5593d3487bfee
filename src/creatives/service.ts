import type { FastifyBaseLogger } from 'fastify';
import type { Queryable } from '../platform/db/database.ts';
import { addDays } from '../platform/calendar.ts';
import type { FeedCache } from './feed-cache.ts';
import type { ProcessedImage } from './images.ts';
import {
  deleteOwnCreative,
  findFeedPage,
  findOwnCreatives,
  findRenamedFileUrl,
  insertCreative,
  recordProcessedImage,
  type Creative,
  type FeedPage,
  type FeedPageQuery,
  type OwnCreativesQuery,
  type UnprocessedCreative,
} from './repository.ts';
import { nameFromUrl, publicFileUrl, type Storage } from './storage/storage.ts';
import { storeImage } from './stored-image.ts';
import type { UploadLimits } from './upload-limits.ts';

/** Today's and tomorrow's creatives, at most FEED_LIMIT each, and where more exist. */
export interface ScheduledFeed {
  creatives: { today: Creative[]; tomorrow: Creative[] };
  truncated: { today: boolean; tomorrow: boolean };
}

/**
 * The only writer of creatives: a row is recorded only once its files are published, files whose
 * row cannot be recorded are removed, and every write invalidates this instance's feed cache.
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

  /**
   * Stores `image` and its variants and records them (its original's bytes count toward the
   * person's quota); on failure nothing of it remains.
   */
  async create(image: ProcessedImage, creative: { userId: number; scheduledAt: string; imageMs: number }): Promise<Creative> {
    const stored = await storeImage(this.storage, image);
    const { imageMs, ...row } = creative;
    let created: Creative;
    try {
      created = await this.limits.record(creative.userId, { sizeBytes: stored.sizeBytes, imageMs }, (tx) =>
        insertCreative(tx, { ...row, image: stored }),
      );
    } catch (error) {
      // No row, so no files: the client is told it failed and may simply retry.
      await this.removeFiles(stored.keys, 'could not remove an unrecorded upload');
      throw error;
    }
    this.feedCache.invalidate();
    return this.present(created);
  }

  /**
   * Gives a creative stored before variants existed its processed image, in place of its original
   * (under a new name: a URL never changes content; the old name keeps answering with the new
   * file, see currentNameOf). False, and nothing changed, when the row was deleted or changed meanwhile.
   */
  async replaceUnprocessedImage(creative: UnprocessedCreative, image: ProcessedImage): Promise<boolean> {
    const stored = await storeImage(this.storage, image);
    let recorded: boolean;
    try {
      recorded = await recordProcessedImage(this.db, creative, stored);
    } catch (error) {
      await this.removeFiles(stored.keys, 'could not remove an unrecorded image');
      throw error;
    }
    if (!recorded) {
      await this.removeFiles(stored.keys, 'could not remove an unrecorded image');
      return false;
    }
    this.feedCache.invalidate();
    await this.removeFiles([this.storage.keyFromUrl(creative.url)], 'could not delete a replaced original');
    return true;
  }

  /** Deletes the user's creative `id` and its files; false when the user has no such creative. */
  async delete(userId: number, id: number): Promise<boolean> {
    const urls = await deleteOwnCreative(this.db, userId, id);
    if (urls === undefined) return false;
    this.feedCache.invalidate();
    // The row is gone first, so no row ever points at a missing file; a file that cannot be
    // removed is only wasted space.
    await this.removeFiles(
      urls.map((url) => this.storage.keyFromUrl(url)),
      'could not delete a creative file',
    );
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

  /**
   * The name of the file that now stands for `name`, a name a creative's file had before it was
   * renamed (by the backfill, or any later reprocessing); undefined if no creative had it.
   */
  async currentNameOf(name: string): Promise<string | undefined> {
    const url = await findRenamedFileUrl(this.db, name);
    return url === undefined ? undefined : nameFromUrl(url);
  }

  /** A creative as clients see it: its files' URLs under PUBLIC_FILES_URL when that is set. */
  private present(creative: Creative): Creative {
    const url = (path: string) => publicFileUrl(path, this.publicFilesUrl);
    return {
      ...creative,
      creative_url: url(creative.creative_url),
      variants: creative.variants && { thumb: url(creative.variants.thumb), feed: url(creative.variants.feed) },
    };
  }

  private async removeFiles(keys: (string | undefined)[], problem: string): Promise<void> {
    await Promise.all(
      keys
        .filter((key) => key !== undefined)
        .map((key) => this.storage.delete(key).catch((err: unknown) => this.logger.error({ err, key }, problem))),
    );
  }
}
