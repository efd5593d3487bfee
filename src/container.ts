import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { DatabaseChallengeStore } from './auth/otp/postgres-store.ts';
import { RedisChallengeStore } from './auth/otp/redis-store.ts';
import { OtpService } from './auth/otp/service.ts';
import { TestNumbers } from './auth/otp/test-numbers.ts';
import type { Clock, RateLimiter } from './auth/rate-limit/limiter.ts';
import { MemoryRateLimiter } from './auth/rate-limit/memory.ts';
import { RedisRateLimiter } from './auth/rate-limit/redis.ts';
import { Sessions } from './auth/sessions.ts';
import { countCallingCodes } from './auth/phone.ts';
import { DatabaseSmsBudget, RedisSmsBudget, type BudgetAlerts, type SmsBudget } from './auth/sms-budget.ts';
import { createSmsProvider } from './auth/sms/create.ts';
import { DEFAULT_SMS_BASE_DELAY_MS, DEFAULT_SMS_MAX_DELAY_MS, SmsSender } from './auth/sms/sender.ts';
import { deleteExpiredTokens } from './auth/tokens.ts';
import type { Config } from './config.ts';
import { createFeedCache } from './creatives/feed-cache.ts';
import { ImageProcessor } from './creatives/images.ts';
import { sweepTemporaryImages } from './creatives/temporary-file.ts';
import { CreativesService } from './creatives/service.ts';
import { sweepOrphans } from './creatives/orphan-sweep.ts';
import { openStorage } from './creatives/storage/open.ts';
import type { Storage } from './creatives/storage/storage.ts';
import { UploadAdmission } from './creatives/upload-admission.ts';
import { UploadLimits } from './creatives/upload-limits.ts';
import { BackgroundTasks } from './platform/background.ts';
import type { Database } from './platform/db/database.ts';
import { formatName } from './platform/db/migrator.ts';
import { migrateToLatest, openDatabase } from './platform/db/open.ts';
import { Metrics } from './platform/metrics.ts';
import type { CleanupTask } from './platform/periodic.ts';
import { closeRedis, connectRedis, REDIS_KEY_PREFIX } from './platform/redis.ts';
import type { ReadinessCheck } from './system/health.ts';

export interface Lifecycle {
  shuttingDown: boolean;
}

/** What the HTTP application is built from. */
export interface AppDependencies {
  config: Config;
  db: Database;
  logger: FastifyBaseLogger;
  background: BackgroundTasks;
  lifecycle: Lifecycle;
  readinessChecks: ReadinessCheck[];
  otp: OtpService;
  rateLimiter: RateLimiter;
  smsBudget: SmsBudget;
  testNumbers: TestNumbers;
  sms: SmsSender;
  storage: Storage;
  sessions: Sessions;
  creatives: CreativesService;
  /** Who may upload now: in-flight, temporary bytes, deadline, a fair turn at the image processor. */
  uploadAdmission: UploadAdmission;
  /** Decodes and strips uploads and makes their variants, IMAGE_CONCURRENCY at a time. */
  images: ImageProcessor;
  metrics: Metrics;
}

export interface Dependencies extends AppDependencies {
  redis: Redis | undefined;
  /** Expired tokens, OTP challenges and rate-limit entries, swept periodically by the server. */
  cleanupTasks: CleanupTask[];
  /** Closes what was opened (database, Redis), after requests and background tasks have finished. */
  close(): Promise<void>;
}

/** What tests change: time, key namespace, and how long SMS retries wait. */
export interface DependencyOverrides {
  redisKeyPrefix?: string;
  smsRetryBaseDelayMs?: number;
  now?: Clock;
  /** How long tokens and the feed are cached (0: not at all, for tests that write to the database behind the app's back). */
  cacheTtlMs?: number;
}

/**
 * Opens the database and Redis, applies pending migrations, and assembles everything the app needs.
 */
export async function createDependencies(
  config: Config,
  logger: FastifyBaseLogger,
  overrides: DependencyOverrides = {},
): Promise<Dependencies> {
  const db = await openDatabase(config);
  let storage: Storage;
  let redis: Redis | undefined;
  try {
    storage = await openStorage(config, logger);
    const sweptImages = await sweepTemporaryImages();
    if (sweptImages > 0) logger.info({ files: sweptImages }, 'removed temporary images of interrupted uploads');
    const applied = await migrateToLatest(config, db);
    for (const m of applied) logger.info({ migration: formatName(m) }, 'migration applied');
    if (config.redisUrl) redis = await connectRedis(config.redisUrl, logger, overrides.redisKeyPrefix ?? REDIS_KEY_PREFIX);
  } catch (error) {
    await db.close();
    throw error;
  }

  const background = new BackgroundTasks(logger);
  const now = overrides.now ?? Date.now;
  const otp = new OtpService(redis ? new RedisChallengeStore(redis) : new DatabaseChallengeStore(db), {
    secret: config.appSecret,
    length: config.otp.length,
    ttlSeconds: config.otp.ttlSeconds,
    maxAttempts: config.otp.maxAttempts,
  });
  const rateLimiter = redis ? new RedisRateLimiter(redis, now) : new MemoryRateLimiter(now);
  if (!redis && config.env === 'production') {
    logger.warn('REDIS_URL is not set: rate limits are kept per instance (OTP challenges are shared through the database)');
  }
  const smsBudget = openSmsBudget(config, db, redis, logger, now);
  const metrics = new Metrics({
    processMetrics: config.metrics !== undefined,
    pool: () => db.poolUse(),
    backgroundTasks: () => background.pending().length,
    smsBudget: { limits: smsBudget.limits, used: () => smsBudget.used() },
  });
  const testNumbers = new TestNumbers(
    config.otpTestNumbers,
    { production: config.env === 'production', until: config.otpTestNumbersUntil },
    now,
  );
  if (testNumbers.count > 0) {
    // How many and until when; never the numbers' codes.
    logger.info(
      { testNumbers: testNumbers.count, until: config.otpTestNumbersUntil },
      'OTP test numbers: fixed codes, nothing sent',
    );
  }
  const uploadLimits = new UploadLimits(
    db,
    {
      perUserPerHour: config.uploadsPerUserPerHour,
      userQuotaBytes: config.userQuotaBytes,
      imageSecondsPerUserPerHour: config.imageSecondsPerUserPerHour,
      disk: config.storage.kind === 'local' ? { directory: config.uploadDir, minFreeBytes: config.minFreeDiskBytes } : undefined,
    },
    now,
  );
  const sms = new SmsSender(
    createSmsProvider(config, logger),
    background,
    logger,
    {
      maxAttempts: config.smsMaxAttempts,
      baseDelayMs: overrides.smsRetryBaseDelayMs ?? DEFAULT_SMS_BASE_DELAY_MS,
      maxDelayMs: DEFAULT_SMS_MAX_DELAY_MS,
    },
    metrics,
  );

  return {
    config,
    db,
    redis,
    logger,
    background,
    lifecycle: { shuttingDown: false },
    otp,
    rateLimiter,
    smsBudget,
    testNumbers,
    sms,
    readinessChecks: [
      { name: 'database', check: () => db.ping() },
      ...(redis ? [{ name: 'redis', check: () => redis.ping(), reportOnly: true }] : []),
    ],
    storage,
    sessions: new Sessions(db, config.tokenTtlHours, { ttlMs: overrides.cacheTtlMs, now, countLookup: metrics.cache('tokens') }),
    creatives: new CreativesService(
      db,
      storage,
      createFeedCache({ ttlMs: overrides.cacheTtlMs, now, countLookup: metrics.cache('feed') }),
      logger,
      uploadLimits,
      config.feedLimit,
      config.publicFilesUrl,
    ),
    uploadAdmission: new UploadAdmission(uploadLimits, {
      inFlightPerUser: config.uploadsInFlightPerUser,
      tempMaxBytes: config.uploadTempMaxBytes,
      maxSeconds: config.uploadMaxSeconds,
      userQuotaBytes: config.userQuotaBytes,
      imageConcurrency: config.imageConcurrency,
    }),
    images: new ImageProcessor({ maxPixels: config.maxImagePixels }, config.imageConcurrency),
    metrics,
    cleanupTasks: [
      { name: 'expired tokens', run: () => deleteExpiredTokens(db) },
      { name: 'expired OTP challenges', run: () => otp.store.deleteExpired() },
      { name: 'rate-limit counters', run: () => rateLimiter.prune() },
      { name: 'past SMS budgets', run: () => smsBudget.prune() },
      { name: 'hourly upload counts', run: () => uploadLimits.prune() },
      { name: 'orphaned files', run: () => sweepOrphans(db, storage, logger) },
    ],
    async close() {
      const results = await Promise.allSettled([db.close(), redis && closeRedis(redis), storage.close()]);
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}

/** SMS_PER_HOUR in Redis when there is one, else in the database; its alerts go to the log. */
function openSmsBudget(config: Config, db: Database, redis: Redis | undefined, logger: FastifyBaseLogger, now: Clock): SmsBudget {
  const settings = {
    perHour: config.smsPerHour,
    reservedForKnownPercent: config.smsReservedForKnownPercent,
    callingCodes: countCallingCodes(config.otp.allowedCountries),
  };
  const alerts: BudgetAlerts = {
    halfUsed: (used, perHour) => logger.warn({ used, smsPerHour: perHour }, 'half of SMS_PER_HOUR is used this hour'),
    shareSpent: (counters) =>
      logger.error(
        { share: counters, smsPerHour: config.smsPerHour },
        'a share of SMS_PER_HOUR is spent: its numbers get no code until the next hour',
      ),
  };
  return redis ? new RedisSmsBudget(redis, settings, alerts, now) : new DatabaseSmsBudget(db, settings, alerts, now);
}
