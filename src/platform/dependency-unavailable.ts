/**
 * A server the request needs (the database, Redis) cannot be reached or did not answer in time.
 * The drivers' adapters throw it in place of their connection errors; the HTTP error handler turns
 * it into 503 `service_unavailable` with `Retry-After`, so no route has to know about it.
 */
export class DependencyUnavailable extends Error {
  /** Seconds a client should wait before trying again: reconnecting in the background takes a few. */
  readonly retryAfterSeconds = 5;

  constructor(
    readonly dependency: 'database' | 'redis' | 'storage',
    options: { cause: unknown },
  ) {
    super(`${dependency} unavailable`, options);
    this.name = 'DependencyUnavailable';
  }
}
