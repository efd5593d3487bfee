import { ShortLivedCache } from '../platform/cache.ts';

/** The feed is served from memory this long: creatives added or removed through another instance show within it. */
export const FEED_CACHE_TTL_MS = 1_000;

/**
 * GET /scheduled's body, serialized, by today's date (which fixes tomorrow's too). Uploads and
 * deletions through this instance invalidate it at once.
 */
export type FeedCache = ShortLivedCache<string>;

export function createFeedCache({ ttlMs = FEED_CACHE_TTL_MS, now }: { ttlMs?: number; now?: () => number } = {}): FeedCache {
  // A handful of dates at most are "today" somewhere at any moment.
  return new ShortLivedCache({ ttlMs, maxEntries: 16, now });
}
