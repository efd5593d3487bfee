import type { FastifyBaseLogger } from 'fastify';
import type { Command, Redis } from 'ioredis';
import { DependencyUnavailable } from './dependency-unavailable.ts';

export const REDIS_KEY_PREFIX = 'cheershare:';

/** A command waits at most this long for its answer (a hung server); a lost connection fails it at once. */
const COMMAND_TIMEOUT_MS = 1_000;
/** How long start-up waits for a first connection before going on without one. */
const FIRST_CONNECTION_MS = 2_000;

/**
 * A Redis client that never makes a request wait for Redis: while the connection is down, a
 * command fails at once (no offline queue), a command Redis does not answer fails after
 * COMMAND_TIMEOUT_MS, and both fail as DependencyUnavailable (503); only Redis's own error replies
 * stay as they are. It reconnects in the background for as long as the process runs, so Redis
 * down at start-up does not stop the server from starting: the routes that need it answer 503
 * until it is back.
 */
export async function connectRedis(url: string, log: FastifyBaseLogger, keyPrefix = REDIS_KEY_PREFIX): Promise<Redis> {
  // Loaded only when REDIS_URL is set: the default start-up does without it.
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    keyPrefix,
    lazyConnect: true,
    enableOfflineQueue: false,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: FIRST_CONNECTION_MS,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
  });
  const sendCommand = redis.sendCommand.bind(redis);
  redis.sendCommand = (command: Command, ...rest) => {
    // Rejections go through command.reject (pipelines read them there too), so that is where a
    // connection failure becomes DependencyUnavailable.
    const reject = command.reject;
    // Redis's own error replies (ioredis's ReplyError, untyped in its declarations) are answers.
    command.reject = (error: Error) =>
      reject(error.name === 'ReplyError' ? error : new DependencyUnavailable('redis', { cause: error }));
    return sendCommand(command, ...rest);
  };

  let lastError = '';
  redis.on('error', (err: Error) => {
    // One line per distinct problem, not one per reconnection attempt.
    if (err.message === lastError) return;
    lastError = err.message;
    log.warn({ err: { message: err.message } }, 'redis connection error');
  });
  redis.on('ready', () => {
    if (lastError) log.info('redis connection restored');
    lastError = '';
  });
  await redis.connect().catch(() => {
    log.warn('Redis does not answer: starting without it; OTP requests and verifications answer 503 until it does');
  });
  return redis;
}

/** QUIT when connected, so that replies on their way are read first; otherwise stops reconnecting. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') return redis.disconnect();
  await redis.quit().catch(() => redis.disconnect());
}
