import { LRUCache } from 'lru-cache';

export interface ShortLivedCacheOptions<V> {
  /**
   * How long an entry is served, counted from the start of its load: the staleness bound for
   * changes this process does not see (another instance, or the database changed directly).
   * 0 turns the cache off.
   */
  ttlMs: number;
  /** Entries kept at most; the least recently used go first. */
  maxEntries: number;
  /**
   * When a loaded value stops being valid by itself (a token's expiry), in ms since the epoch;
   * at or before now, the value is returned but not cached. Without it, values live `ttlMs`.
   */
  validUntil?: (value: V) => number;
  now?: () => number;
}

type Load<V> = () => Promise<V>;

/**
 * An in-process cache (lru-cache) for data other processes may change. Changes made through this
 * process call `invalidate`, which takes effect at once: it drops the entries and also keeps any
 * load that was already running from storing what it read before the change. Concurrent misses
 * of one key share a single load.
 */
export class ShortLivedCache<V> {
  // Boxed: lru-cache holds no null, and a token lookup's "unknown" is null.
  private readonly lru: LRUCache<string, { value: V }, Load<V>>;
  // lru-cache's iterators skip loads under way, but an invalidation has to end them too.
  private readonly loading = new Map<string, AbortSignal>();

  constructor(private readonly options: ShortLivedCacheOptions<V>) {
    const { ttlMs, maxEntries, validUntil, now = Date.now } = options;
    this.lru = new LRUCache({
      max: maxEntries,
      ttl: ttlMs,
      perf: { now },
      // The clock is read at every look-up, so no entry is served a millisecond past its TTL.
      ttlResolution: 0,
      // An invalidation (delete, clear) aborts the loads under way for its keys: they do not
      // store, but the requests already waiting on them still get what they read.
      ignoreFetchAbort: true,
      fetchMethod: async (key, _stale, { signal, options: entry, context: load }) => {
        const startedAt = now();
        this.loading.set(key, signal);
        try {
          const value = await load();
          const expires = Math.min(startedAt + ttlMs, validUntil?.(value) ?? Infinity);
          // lru-cache still serves an entry whose age equals its ttl (and takes 0 for "forever").
          const ttl = expires - now() - 1;
          if (ttl > 0) entry.ttl = ttl;
          else if (!signal.aborted) this.lru.delete(key);
          return { value };
        } finally {
          if (this.loading.get(key) === signal) this.loading.delete(key);
        }
      },
    });
  }

  /** The cached value of `key`, or the one `load` reads (cached unless invalidated meanwhile). */
  get(key: string, load: Load<V>): Promise<V> {
    if (this.options.ttlMs <= 0) return load();
    // A hit skips fetch()'s chain of promises: most requests end here.
    const hit = this.lru.get(key);
    if (hit) return Promise.resolve(hit.value);
    return this.lru.forceFetch(key, { context: load }).then((loaded) => loaded.value);
  }

  /** Forgets the entries `match` selects (all without it) and what loads running now will read. */
  invalidate(match?: (key: string, value: V) => boolean): void {
    if (!match) return this.lru.clear();
    for (const [key, { value }] of [...this.lru.entries()]) if (match(key, value)) this.lru.delete(key);
    for (const key of this.loading.keys()) this.lru.delete(key);
  }
}
