import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';

export const REDIS_KEY_PREFIX = 'cheershare:';

/**
 * Connects to Redis, failing start-up if it does not answer. Afterwards a command fails fast while
 * the connection is down (the request gets a 500) instead of queueing for long; ioredis keeps
 * reconnecting in the background.
 */
export async function connectRedis(url: string, log: FastifyBaseLogger, keyPrefix = REDIS_KEY_PREFIX): Promise<Redis> {
  // Loaded only when REDIS_URL is set: the default start-up does without it.
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    keyPrefix,
    lazyConnect: true,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 1,
  });
  let lastError = '';
  redis.on('error', (err: Error) => {
    // One line per distinct problem, not one per reconnection attempt.
    if (err.message === lastError) return;
    lastError = err.message;
    log.warn({ err: { message: err.message } }, 'redis connection error');
  });
  redis.on('ready', () => {
    lastError = '';
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new Error(`cannot connect to Redis (REDIS_URL): ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  return redis;
}
