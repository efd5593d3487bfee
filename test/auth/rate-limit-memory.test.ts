import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LimitRule } from '../../src/auth/rate-limit/limiter.ts';
import { MAX_KEYS_PER_WINDOW, MemoryRateLimiter } from '../../src/auth/rate-limit/memory.ts';

const HOUR_MS = 3_600_000;
const rule = (key: string, limit = 2): LimitRule => ({ name: 'test', key, limit, windowMs: HOUR_MS, message: 'limited' });

test('200,000 distinct keys: the in-memory limiter keeps a bounded number, and the keys in use keep their counts', async () => {
  let clock = 1_800_000_000_000;
  const limiter = new MemoryRateLimiter(() => clock);
  const live = rule('otp-ip:203.0.113.7');
  assert.equal((await limiter.take([live])).allowed, true);
  for (let i = 0; i < 200_000; i++) {
    // An attacker's flood: every request a new address, each under its limit.
    assert.equal((await limiter.take([rule(`otp-ip:garbage-${i}`)])).allowed, true);
    // A client that keeps coming back stays among the recently used keys.
    if (i % 50_000 === 0) {
      clock += 1;
      const again = await limiter.take([live]);
      assert.equal(again.allowed, i === 0, `the live key at ${i}`);
    }
    assert.ok(limiter.size <= MAX_KEYS_PER_WINDOW);
  }
  assert.equal(limiter.size, MAX_KEYS_PER_WINDOW);
  const refused = await limiter.take([live]);
  assert.equal(refused.allowed, false, 'its limit of 2 still holds');
  // Its first hit was 4 ms of this clock ago.
  assert.equal(!refused.allowed && refused.retryAfterMs, HOUR_MS - 4, 'and its Retry-After counts from its first hit');
  // The newest keys of the flood are live too.
  assert.equal((await limiter.take([rule('otp-ip:garbage-199999', 1)])).allowed, false);
  // An hour later everything has expired and is swept.
  clock += HOUR_MS;
  assert.equal(await limiter.prune(), MAX_KEYS_PER_WINDOW);
  assert.equal(limiter.size, 0);
});
