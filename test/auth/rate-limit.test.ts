import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { retryAfterSeconds, type LimitRule, type RateLimiter } from '../../src/auth/rate-limit/limiter.ts';
import { MemoryRateLimiter } from '../../src/auth/rate-limit/memory.ts';
import { RedisRateLimiter } from '../../src/auth/rate-limit/redis.ts';
import { TEST_REDIS_URL } from '../support/backends.ts';
import { connectTestRedis } from '../support/redis.ts';

interface LimiterFactory {
  name: string;
  open(now: () => number): Promise<{ limiter: RateLimiter; close(): Promise<void> }>;
}

const factories: LimiterFactory[] = [
  { name: 'memory', open: async (now) => ({ limiter: new MemoryRateLimiter(now), close: async () => {} }) },
];
if (TEST_REDIS_URL) {
  const url = TEST_REDIS_URL;
  factories.push({
    name: 'Redis',
    async open(now) {
      const { redis, cleanup } = await connectTestRedis(url);
      return { limiter: new RedisRateLimiter(redis, now), close: cleanup };
    },
  });
}

const HOUR = 3_600_000;
let keyCounter = 0;
const rule = (limit: number, windowMs: number, message = 'limited'): LimitRule => ({
  name: 'test',
  key: `test-${++keyCounter}`,
  limit,
  windowMs,
  message,
});

for (const factory of factories) {
  describe(`rate limiter: ${factory.name}`, () => {
    let clock = 0;
    let limiter: RateLimiter;
    let close: () => Promise<void>;
    before(async () => {
      ({ limiter, close } = await factory.open(() => clock));
    });
    after(() => close());
    beforeEach(() => {
      clock = 1_800_000_000_000;
    });

    test('allows `limit` hits per window, then refuses until the oldest hit leaves the window', async () => {
      const r = rule(3, HOUR);
      for (let i = 0; i < 3; i++) {
        assert.equal((await limiter.take([r])).allowed, true);
        clock += 60_000;
      }
      const refused = await limiter.take([r]);
      assert.deepEqual(refused, { allowed: false, rule: r, retryAfterMs: HOUR - 3 * 60_000 });
      clock += HOUR - 3 * 60_000 - 1;
      assert.equal((await limiter.take([r])).allowed, false, 'one millisecond early');
      clock += 1;
      assert.equal((await limiter.take([r])).allowed, true, 'the oldest hit has left the window');
      const next = await limiter.take([r]);
      assert.equal(next.allowed, false);
      assert.equal(!next.allowed && next.retryAfterMs, 60_000, 'the second-oldest hit leaves a minute later');
    });

    test('a cooldown is a limit of 1: Retry-After counts down', async () => {
      const cooldown = rule(1, 30_000);
      assert.equal((await limiter.take([cooldown])).allowed, true);
      clock += 10_000;
      const refused = await limiter.take([cooldown]);
      assert.equal(!refused.allowed && retryAfterSeconds(refused.retryAfterMs), 20);
      clock += 20_000;
      assert.equal((await limiter.take([cooldown])).allowed, true);
    });

    test('all or nothing: a request refused by one rule is not counted by the others', async () => {
      const strict = rule(1, HOUR, 'strict');
      const loose = rule(3, HOUR, 'loose');
      assert.equal((await limiter.take([strict, loose])).allowed, true);
      for (let i = 0; i < 5; i++) {
        const refused = await limiter.take([strict, loose]);
        assert.equal(!refused.allowed && refused.rule.message, 'strict');
      }
      // Only the first request counted toward `loose`: two more fit.
      assert.equal((await limiter.take([loose])).allowed, true);
      assert.equal((await limiter.take([loose])).allowed, true);
      assert.equal((await limiter.take([loose])).allowed, false);
    });

    test('when several rules refuse, the answer is the longest wait and its rule', async () => {
      const short = rule(1, 30_000, 'short');
      const long = rule(1, HOUR, 'long');
      assert.equal((await limiter.take([short, long])).allowed, true);
      const refused = await limiter.take([short, long]);
      assert.deepEqual(refused, { allowed: false, rule: long, retryAfterMs: HOUR });
    });

    test('a hit given back does not count', async () => {
      const r = rule(1, HOUR);
      const taken = await limiter.take([r]);
      assert.ok(taken.allowed);
      await limiter.giveBack(taken.hit);
      assert.equal((await limiter.take([r])).allowed, true);
      assert.equal((await limiter.take([r])).allowed, false);
    });

    test('keys are independent', async () => {
      const a = rule(1, HOUR);
      const b = rule(1, HOUR);
      assert.equal((await limiter.take([a])).allowed, true);
      assert.equal((await limiter.take([b])).allowed, true);
      assert.equal((await limiter.take([a])).allowed, false);
    });

    test('fifty concurrent requests against a limit of ten: exactly ten pass', async () => {
      const r = rule(10, HOUR);
      const results = await Promise.all(Array.from({ length: 50 }, () => limiter.take([r])));
      assert.equal(results.filter((result) => result.allowed).length, 10);
    });

    test('prune drops keys whose hits have all expired', async () => {
      const r = rule(1, 1_000);
      await limiter.take([r]);
      clock += 1_000;
      const removed = await limiter.prune();
      if (factory.name === 'memory') assert.ok(removed >= 1, `removed ${removed}`);
      else assert.equal(removed, 0, 'Redis expires its keys itself');
      assert.equal((await limiter.take([r])).allowed, true);
    });
  });
}

test('Retry-After is whole seconds rounded up, at least 1', () => {
  assert.equal(retryAfterSeconds(1), 1);
  assert.equal(retryAfterSeconds(0), 1);
  assert.equal(retryAfterSeconds(1_000), 1);
  assert.equal(retryAfterSeconds(1_001), 2);
  assert.equal(retryAfterSeconds(3_600_000), 3600);
});
