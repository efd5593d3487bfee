import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock, Hit, LimitRule, RateLimiter, TakeResult } from './limiter.ts';

// KEYS: one sorted set per rule (score = hit time in ms). ARGV: now, member, then limit and window
// of each rule. Checks every rule, then records in all of them or none; returns the index of the
// rule that must wait longest (0 if none) and how long.
const TAKE = `
local now = tonumber(ARGV[1])
local worst, worstWait = 0, 0
for i, key in ipairs(KEYS) do
  local limit, window = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local wait = tonumber(oldest[2]) + window - now
    if wait > worstWait then worst, worstWait = i, wait end
  end
end
if worst > 0 then return {worst, worstWait} end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, ARGV[2 + 2 * i])
end
return {0, 0}`;

/** Counters shared by every instance through Redis: `rl:<rule key>` sorted sets that expire. */
export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly now: Clock = Date.now,
  ) {}

  async take(rules: LimitRule[]): Promise<TakeResult> {
    const member = randomUUID();
    const keys = rules.map((rule) => `rl:${rule.key}`);
    const args = [this.now(), member, ...rules.flatMap((rule) => [rule.limit, rule.windowMs])];
    const [index, wait] = (await this.redis.eval(TAKE, keys.length, ...keys, ...args)) as [number, number];
    if (index > 0) return { allowed: false, rule: rules[index - 1]!, retryAfterMs: wait };
    return { allowed: true, hit: { keys, member } };
  }

  async giveBack(hit: Hit): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const key of hit.keys) pipeline.zrem(key, hit.member);
    await pipeline.exec();
  }

  async prune(): Promise<number> {
    return 0;
  }
}
