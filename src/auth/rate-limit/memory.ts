import { LRUCache } from 'lru-cache';
import type { Clock, Hit, LimitRule, RateLimiter, TakeResult } from './limiter.ts';

/** Keys kept per window length: about 20 MB of hits at most, however many addresses and numbers clients send. */
export const MAX_KEYS_PER_WINDOW = 100_000;

interface Entry {
  at: number;
  member: string;
}

/**
 * Counters in this process's memory, used without REDIS_URL. Several instances behind a load
 * balancer do not share them: each enforces the limits on the requests it sees. Each window
 * length has a bounded LRU: past its size, the key used least recently is forgotten (its client
 * gets a fresh count), so memory stays flat while the keys in use keep their counts.
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<number, LRUCache<string, Entry[]>>();
  private sequence = 0;

  constructor(
    private readonly now: Clock = Date.now,
    private readonly maxKeysPerWindow = MAX_KEYS_PER_WINDOW,
  ) {}

  async take(rules: LimitRule[]): Promise<TakeResult> {
    const now = this.now();
    let refusal: { rule: LimitRule; retryAfterMs: number } | undefined;
    const live = rules.map((rule) => {
      const hits = this.live(rule, now);
      if (hits.length >= rule.limit) {
        // The request fits once enough of the oldest hits have left the window.
        const retryAfterMs = hits[hits.length - rule.limit]!.at + rule.windowMs - now;
        if (!refusal || retryAfterMs > refusal.retryAfterMs) refusal = { rule, retryAfterMs };
      }
      return hits;
    });
    if (refusal) return { allowed: false, ...refusal };
    const member = String(++this.sequence);
    rules.forEach((rule, i) => this.window(rule.windowMs).set(rule.key, [...live[i]!, { at: now, member }]));
    return { allowed: true, hit: { keys: rules.map((rule) => rule.key), member } };
  }

  async giveBack(hit: Hit): Promise<void> {
    for (const key of hit.keys) {
      for (const cache of this.windows.values()) {
        const hits = cache.get(key);
        if (hits)
          cache.set(
            key,
            hits.filter((entry) => entry.member !== hit.member),
            { noUpdateTTL: true },
          );
      }
    }
  }

  async prune(): Promise<number> {
    let removed = 0;
    for (const cache of this.windows.values()) {
      const before = cache.size;
      cache.purgeStale();
      removed += before - cache.size;
    }
    return removed;
  }

  /** How many keys are held, for the memory bound's test. */
  get size(): number {
    let size = 0;
    for (const cache of this.windows.values()) size += cache.size;
    return size;
  }

  private window(windowMs: number): LRUCache<string, Entry[]> {
    let cache = this.windows.get(windowMs);
    if (!cache) {
      // A key's last hit leaves the window `windowMs` after it is set (lru-cache counts an entry
      // stale only once its age exceeds the TTL, hence the - 1). The cache reads our clock on
      // every check (ttlResolution 0), so tests can move time.
      cache = new LRUCache({
        max: this.maxKeysPerWindow,
        ttl: Math.max(1, windowMs - 1),
        ttlResolution: 0,
        perf: { now: this.now },
      });
      this.windows.set(windowMs, cache);
    }
    return cache;
  }

  private live(rule: LimitRule, now: number): Entry[] {
    const hits = this.window(rule.windowMs).get(rule.key) ?? [];
    return hits.filter((entry) => entry.at > now - rule.windowMs);
  }
}
