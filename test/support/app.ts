import { rmSync } from 'node:fs';
import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig, type Config, type Env } from '../../src/config.ts';
import { createDependencies, type Dependencies, type DependencyOverrides } from '../../src/container.ts';
import { tempDir, type DatabaseBackend, type TestDatabase } from './backends.ts';
import { deleteRedisKeys, uniqueRedisPrefix } from './redis.ts';

export interface TestApp {
  app: App;
  deps: Dependencies;
  config: Config;
  database: TestDatabase;
  uploadDir: string;
  /** Closes the app and its dependencies and removes the database and upload directory. */
  close(): Promise<void>;
}

/**
 * Builds the real app (migrated, on a fresh database of `backend`) for `app.inject()` tests. With
 * REDIS_URL in `env`, its keys live under a prefix of their own and are deleted by `close()`.
 */
export async function buildTestApp(
  backend: DatabaseBackend,
  env: Env = {},
  overrides: DependencyOverrides = {},
  logger?: FastifyBaseLogger,
): Promise<TestApp> {
  const database = await backend.create();
  const uploadDir = tempDir('cheershare-uploads-');
  const config = loadConfig({ ENV: 'test', LOG_LEVEL: 'silent', UPLOAD_DIR: uploadDir, ...database.env, ...env });
  const redisKeyPrefix = overrides.redisKeyPrefix ?? uniqueRedisPrefix();
  const deps = await createDependencies(config, logger ?? pino({ level: config.logLevel }), { ...overrides, redisKeyPrefix });
  const app = await buildApp(deps);
  await app.ready();
  return {
    app,
    deps,
    config,
    database,
    uploadDir,
    async close() {
      await app.close();
      await deps.background.drain();
      await deps.close();
      if (config.redisUrl) await deleteRedisKeys(config.redisUrl, redisKeyPrefix);
      await database.drop();
      rmSync(uploadDir, { recursive: true, force: true });
    },
  };
}
