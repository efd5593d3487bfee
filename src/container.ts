import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { createAuth, type AuthModule } from './auth/index.ts';
import type { Config } from './config.ts';
import { createCreatives, type CreativesModule } from './creatives/index.ts';
import { BackgroundTasks } from './platform/background.ts';
import type { Database } from './platform/db/database.ts';
import { formatName } from './platform/db/migrator.ts';
import { migrateToLatest, openDatabase } from './platform/db/open.ts';
import type { FeatureDependencies, FeatureModule } from './platform/feature.ts';
import { Metrics } from './platform/metrics.ts';
import type { CleanupTask } from './platform/periodic.ts';
import { closeRedis, connectRedis, REDIS_KEY_PREFIX } from './platform/redis.ts';
import { createSystem } from './system/index.ts';
import type { ReadinessCheck } from './system/health.ts';

export interface Lifecycle {
  shuttingDown: boolean;
}

/** What the HTTP application is built from: the platform's pieces and the three features. */
export interface AppDependencies {
  config: Config;
  db: Database;
  logger: FastifyBaseLogger;
  background: BackgroundTasks;
  lifecycle: Lifecycle;
  metrics: Metrics;
  auth: AuthModule;
  creatives: CreativesModule;
  system: FeatureModule;
}

export interface Dependencies extends AppDependencies {
  redis: Redis | undefined;
  readinessChecks: ReadinessCheck[];
  /** Every feature's periodic work (expired tokens, OTP challenges, counters, orphaned files), run by the server. */
  periodicTasks: CleanupTask[];
  /** Closes what was opened (database, Redis, storage), after requests and background tasks have finished. */
  close(): Promise<void>;
}

/** What tests change: time, key namespace, and how long SMS retries wait. */
export interface DependencyOverrides {
  redisKeyPrefix?: string;
  smsRetryBaseDelayMs?: number;
  now?: () => number;
  /** How long tokens and the feed are cached (0: not at all, for tests that write to the database behind the app's back). */
  cacheTtlMs?: number;
}

/** Opens the database and Redis, applies pending migrations, and builds the three features on them. */
export async function createDependencies(
  config: Config,
  logger: FastifyBaseLogger,
  overrides: DependencyOverrides = {},
): Promise<Dependencies> {
  const db = await openDatabase(config);
  let redis: Redis | undefined;
  try {
    const applied = await migrateToLatest(config, db);
    for (const m of applied) logger.info({ migration: formatName(m) }, 'migration applied');
    if (config.redisUrl) redis = await connectRedis(config.redisUrl, logger, overrides.redisKeyPrefix ?? REDIS_KEY_PREFIX);
    return await createFeatures(config, logger, overrides, db, redis);
  } catch (error) {
    await Promise.allSettled([db.close(), redis && closeRedis(redis)]);
    throw error;
  }
}

async function createFeatures(
  config: Config,
  logger: FastifyBaseLogger,
  overrides: DependencyOverrides,
  db: Database,
  redis: Redis | undefined,
): Promise<Dependencies> {
  const background = new BackgroundTasks(logger);
  const metrics = new Metrics({
    processMetrics: config.metrics !== undefined,
    pool: () => db.poolUse(),
    backgroundTasks: () => background.pending().length,
  });
  const platform: FeatureDependencies = {
    config,
    db,
    redis,
    logger,
    background,
    metrics,
    now: overrides.now ?? Date.now,
    cacheTtlMs: overrides.cacheTtlMs,
  };
  const auth = createAuth({ ...platform, smsRetryBaseDelayMs: overrides.smsRetryBaseDelayMs });
  const creatives = await createCreatives(platform);
  const readinessChecks: ReadinessCheck[] = [
    { name: 'database', check: () => db.ping() },
    ...(redis ? [{ name: 'redis', check: () => redis.ping(), reportOnly: true }] : []),
  ];
  const system = createSystem({ config, readinessChecks, clientFacts: creatives.clientFacts });
  const features = [auth, creatives, system];

  return {
    config,
    db,
    redis,
    logger,
    background,
    lifecycle: { shuttingDown: false },
    metrics,
    auth,
    creatives,
    system,
    readinessChecks,
    periodicTasks: features.flatMap((feature) => feature.periodicTasks),
    async close() {
      const closing = [
        db.close(),
        ...(redis ? [closeRedis(redis)] : []),
        ...features.flatMap((feature) => (feature.close ? [feature.close()] : [])),
      ];
      const failed = (await Promise.allSettled(closing)).find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
