export interface ShortLivedCacheOptions<V> {
  /**
   * How long an entry is served: the staleness bound for changes this process does not see
   * (another instance, or the database changed directly). 0 turns the cache off.
   */
  ttlMs: number;
  /** Entries kept at most; the oldest go first. */
  maxEntries: number;
  /**
   * When a loaded value stops being valid by itself (a token's expiry), in ms since the epoch;
   * at or before now, the value is not cached at all. Without it, values live `ttlMs`.
   */
  validUntil?: (value: V) => number;
  now?: () => number;
}

/**
 * A small in-process cache for data other processes may change. Changes made through this process
 * call `invalidate`, which takes effect at once: it drops the entries and also keeps any load that
 * was already running from storing what it read before the change. Concurrent misses of one key
 * share a single load, and entries in use are refreshed in the background before they expire.
 */
export class ShortLivedCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number; refreshAt: number }>();
  private readonly loading = new Map<string, { generation: number; promise: Promise<V> }>();
  // Bumped by every invalidation; a load stores its result only if none happened since it started.
  private generation = 0;
  private readonly now: () => number;

  constructor(private readonly options: ShortLivedCacheOptions<V>) {
    this.now = options.now ?? Date.now;
  }

  /** The cached value of `key`, or the one `load` reads (cached unless invalidated meanwhile). */
  get(key: string, load: () => Promise<V>): Promise<V> {
    if (this.options.ttlMs <= 0) return load();
    const now = this.now();
    const entry = this.entries.get(key);
    if (entry && entry.expires > now) {
      // Past half its life, an entry in use is read again in the background: a key that keeps
      // being asked for never makes a request wait for the database, and no value served is
      // older than ttlMs all the same.
      if (now >= entry.refreshAt) this.load(key, load, now).catch(() => {});
      return Promise.resolve(entry.value);
    }
    if (entry) this.entries.delete(key);
    return this.load(key, load, now);
  }

  /** Forgets the entries `match` selects (all without it) and what loads running now will read. */
  invalidate(match?: (key: string, value: V) => boolean): void {
    this.generation++;
    if (!match) {
      this.entries.clear();
      return;
    }
    for (const [key, entry] of this.entries) {
      if (match(key, entry.value)) this.entries.delete(key);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Runs `load` for `key`, or joins the one already running since the last invalidation. */
  private load(key: string, load: () => Promise<V>, now: number): Promise<V> {
    const pending = this.loading.get(key);
    if (pending && pending.generation === this.generation) return pending.promise;
    const generation = this.generation;
    const promise = load()
      .then((value) => {
        // Counted from the start of the load: what it read is at least that old.
        if (this.generation === generation) this.store(key, value, now);
        return value;
      })
      .finally(() => {
        if (this.loading.get(key)?.promise === promise) this.loading.delete(key);
      });
    this.loading.set(key, { generation, promise });
    return promise;
  }

  private store(key: string, value: V, loadedAt: number): void {
    const expires = Math.min(loadedAt + this.options.ttlMs, this.options.validUntil?.(value) ?? Infinity);
    // Also drops what an earlier load stored: a refresh that finds a token revoked ends its entry.
    this.entries.delete(key);
    if (expires <= this.now()) return;
    if (this.entries.size >= this.options.maxEntries) this.evict();
    this.entries.set(key, { value, expires, refreshAt: loadedAt + this.options.ttlMs / 2 });
  }

  /** Drops expired entries from the oldest on, and the oldest live one if that freed nothing. */
  private evict(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (entry.expires > now && this.entries.size < this.options.maxEntries) return;
      this.entries.delete(key);
      if (entry.expires > now) return;
    }
  }
}
