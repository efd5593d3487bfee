import { randomUUID } from 'node:crypto';
import type { Clock, Hit, LimitRule, RateLimiter, TakeResult } from './limiter.ts';

interface Entry {
  at: number;
  member: string;
}

/**
 * Counters in this process's memory, used without REDIS_URL. Several instances behind a load
 * balancer do not share them: each enforces the limits on the requests it sees.
 */
export class MemoryRateLimiter implements RateLimiter {
  // Entries per key, oldest first; each key remembers the longest window it was used with.
  private readonly entries = new Map<string, { windowMs: number; hits: Entry[] }>();

  constructor(private readonly now: Clock = Date.now) {}

  async take(rules: LimitRule[]): Promise<TakeResult> {
    const now = this.now();
    let refusal: { rule: LimitRule; retryAfterMs: number } | undefined;
    for (const rule of rules) {
      const hits = this.live(rule.key, now, rule.windowMs);
      if (hits.length >= rule.limit) {
        // The request fits once enough of the oldest hits have left the window.
        const retryAfterMs = hits[hits.length - rule.limit]!.at + rule.windowMs - now;
        if (!refusal || retryAfterMs > refusal.retryAfterMs) refusal = { rule, retryAfterMs };
      }
    }
    if (refusal) return { allowed: false, ...refusal };
    const member = randomUUID();
    for (const rule of rules) {
      const slot = this.entries.get(rule.key) ?? { windowMs: rule.windowMs, hits: [] };
      slot.windowMs = Math.max(slot.windowMs, rule.windowMs);
      slot.hits.push({ at: now, member });
      this.entries.set(rule.key, slot);
    }
    return { allowed: true, hit: { keys: rules.map((rule) => rule.key), member } };
  }

  async giveBack(hit: Hit): Promise<void> {
    for (const key of hit.keys) {
      const slot = this.entries.get(key);
      if (slot) slot.hits = slot.hits.filter((entry) => entry.member !== hit.member);
    }
  }

  async prune(): Promise<number> {
    const now = this.now();
    let removed = 0;
    for (const [key, slot] of this.entries) {
      if (this.live(key, now, slot.windowMs).length === 0) {
        this.entries.delete(key);
        removed++;
      }
    }
    return removed;
  }

  private live(key: string, now: number, windowMs: number): Entry[] {
    const slot = this.entries.get(key);
    if (!slot) return [];
    slot.hits = slot.hits.filter((entry) => entry.at > now - windowMs);
    return slot.hits;
  }
}
