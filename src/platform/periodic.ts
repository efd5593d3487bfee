import type { FastifyBaseLogger } from 'fastify';

/** Something that deletes what has expired and says how much it removed. */
export interface CleanupTask {
  name: string;
  run(): Promise<number>;
}

export const CLEANUP_INTERVAL_MS = 10 * 60 * 1000;

/** Runs every task once; one failing does not stop the others. */
export async function runCleanup(tasks: CleanupTask[], log: FastifyBaseLogger): Promise<void> {
  for (const task of tasks) {
    try {
      const removed = await task.run();
      if (removed > 0) log.info({ task: task.name, removed }, 'expired entries removed');
    } catch (err) {
      log.error({ err, task: task.name }, 'cleanup failed');
    }
  }
}

export interface PeriodicCleanup {
  /** Stops the timer and waits for a run in progress, so the database can be closed after it. */
  stop(): Promise<void>;
}

/** Runs the tasks now and every `intervalMs`; the timer does not keep the process alive. */
export function startPeriodicCleanup(
  tasks: CleanupTask[],
  log: FastifyBaseLogger,
  intervalMs = CLEANUP_INTERVAL_MS,
): PeriodicCleanup {
  let inFlight: Promise<void> | undefined;
  const tick = () => {
    // A slow run is not stacked on: the next tick after it finishes runs again.
    if (inFlight) return;
    inFlight = runCleanup(tasks, log).finally(() => {
      inFlight = undefined;
    });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  tick();
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}
