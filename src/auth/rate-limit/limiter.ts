/** At most `limit` hits per key in any sliding window of `windowMs`. */
export interface LimitRule {
  key: string;
  limit: number;
  windowMs: number;
  /** The 429 message when this rule refuses. */
  message: string;
}

/** A recorded hit, to take back if the request should not count after all. */
export interface Hit {
  keys: string[];
  member: string;
}

export type TakeResult =
  | { allowed: true; hit: Hit }
  | { allowed: false; rule: LimitRule; /** until every refusing rule has room again */ retryAfterMs: number };

/**
 * Sliding-window counters. `take` is all-or-nothing and atomic: it records a hit under every rule
 * only when all of them have room, so a request refused by one limit does not count toward the
 * others, and concurrent requests cannot overshoot a limit.
 */
export interface RateLimiter {
  take(rules: LimitRule[]): Promise<TakeResult>;
  giveBack(hit: Hit): Promise<void>;
  /** Drops expired entries; returns how many keys were removed (Redis expires keys itself). */
  prune(): Promise<number>;
}

export type Clock = () => number;

/** Retry-After is whole seconds, rounded up, and never 0 (0 would invite an immediate retry). */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
