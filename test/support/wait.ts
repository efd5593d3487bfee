import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Resolves with the first non-undefined result of `check`, re-run whenever something calls the
 * wake-up function this adds to `waiters`; rejects if `check` throws or after `timeoutMs`.
 */
export function waitUntil<T>(
  waiters: Set<() => void>,
  check: () => T | undefined,
  timeoutMs: number,
  timeoutMessage: () => string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => settle(() => reject(new Error(timeoutMessage()))), timeoutMs);
    const settle = (finish: () => void) => {
      clearTimeout(timer);
      waiters.delete(wake);
      finish();
    };
    const wake = () => {
      let result: T | undefined;
      try {
        result = check();
      } catch (error) {
        settle(() => reject(error instanceof Error ? error : new Error(String(error))));
        return;
      }
      if (result !== undefined) settle(() => resolve(result));
    };
    waiters.add(wake);
    wake();
  });
}

/** Waits until `check` stops throwing, polling; returns how long that took. */
export async function eventually(check: () => Promise<void>, timeoutMs: number, intervalMs = 200): Promise<number> {
  const started = Date.now();
  for (;;) {
    try {
      await check();
      return Date.now() - started;
    } catch (error) {
      if (Date.now() - started > timeoutMs) throw error;
      await sleep(intervalMs);
    }
  }
}
