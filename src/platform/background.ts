import type { FastifyBaseLogger } from 'fastify';

/**
 * Work that outlives the request that started it (SMS sends and their retries) — the original's
 * `app.wg`. Errors are logged, never thrown; shutdown awaits `drain()`.
 */
export class BackgroundTasks {
  private readonly running = new Map<Promise<void>, string>();

  constructor(private readonly log: FastifyBaseLogger) {}

  run(name: string, task: () => Promise<unknown>): void {
    const promise = (async () => {
      try {
        await task();
      } catch (err) {
        this.log.error({ err, task: name }, 'background task failed');
      }
    })();
    this.running.set(promise, name);
    void promise.finally(() => this.running.delete(promise));
  }

  /** Names of the tasks still running. */
  pending(): string[] {
    return [...this.running.values()];
  }

  /** Resolves once every task, including any started while waiting, has finished. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.keys());
  }
}
