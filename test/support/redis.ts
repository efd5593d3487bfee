import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** A key prefix no other suite uses, so suites can share one Redis. */
export function uniqueRedisPrefix(): string {
  return `cheershare-test:${randomBytes(6).toString('hex')}:`;
}

/** A client whose keys all live under a fresh prefix; `cleanup()` deletes them and disconnects. */
export async function connectTestRedis(url: string): Promise<{ redis: Redis; prefix: string; cleanup(): Promise<void> }> {
  const prefix = uniqueRedisPrefix();
  const redis = new Redis(url, { keyPrefix: prefix, lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  return {
    redis,
    prefix,
    async cleanup() {
      await deleteRedisKeys(url, prefix);
      await redis.quit();
    },
  };
}

/** Deletes every key under `prefix` (SCAN ignores the client's keyPrefix, hence a plain client). */
export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}
