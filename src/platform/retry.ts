import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryOptions {
  /** Total attempts, the first included. */
  attempts: number;
  /** Delay before the second attempt; it doubles each time, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  shouldRetry(error: unknown): boolean;
  /** Called after every failed attempt; `nextDelayMs` is undefined when no attempt follows. */
  onFailedAttempt?(error: unknown, attempt: number, nextDelayMs: number | undefined): void;
  random?: () => number;
}

/**
 * Exponential backoff with jitter: `base * 2^(attempt-1)`, capped, then scaled by a random factor in
 * [0.75, 1.25) so that many clients failing together do not retry in lockstep.
 */
export function backoffDelay(attempt: number, baseDelayMs: number, maxDelayMs: number, random = Math.random): number {
  const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  return Math.round(exponential * (0.75 + random() * 0.5));
}

/** Runs `fn` until it succeeds, an error is not worth retrying, or the attempts are spent. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const last = attempt >= options.attempts || !options.shouldRetry(error);
      const delay = last ? undefined : backoffDelay(attempt, options.baseDelayMs, options.maxDelayMs, options.random);
      options.onFailedAttempt?.(error, attempt, delay);
      if (delay === undefined) throw error;
      await sleep(delay);
    }
  }
}
