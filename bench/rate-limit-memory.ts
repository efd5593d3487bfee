/**
 * The in-memory rate limiter's heap under a flood of distinct keys (addresses or numbers it has
 * never seen): heapUsed after each step, with a full GC before every reading.
 *
 *   node --expose-gc --import tsx bench/rate-limit-memory.ts
 */
import { MAX_KEYS_PER_WINDOW, MemoryRateLimiter } from '../src/auth/rate-limit/memory.ts';

const HOUR_MS = 3_600_000;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function heapMiB(): number {
  gc!();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

const limiter = new MemoryRateLimiter();
const start = heapMiB();
let keys = 0;
console.log(`keys kept per window: ${MAX_KEYS_PER_WINDOW}`);
console.log('distinct keys sent | keys held | heapUsed MiB (delta from empty)');
for (const target of [50_000, 100_000, 200_000, 400_000, 1_000_000]) {
  for (; keys < target; keys++) {
    // The signup rules an OTP request from a new address and number takes.
    await limiter.take([
      { key: `otp-number:+9198${String(keys).padStart(8, '0')}`, limit: 5, windowMs: HOUR_MS, message: '' },
      { key: `otp-ip:${keys}.garbage`, limit: 30, windowMs: HOUR_MS, message: '' },
    ]);
  }
  console.log(`${String(target).padStart(18)} | ${String(limiter.size).padStart(9)} | ${(heapMiB() - start).toFixed(1)}`);
}
