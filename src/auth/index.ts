import type { FastifyInstance } from 'fastify';
import type { FeatureDependencies, FeatureModule } from '../platform/feature.ts';
import { accountRoutes } from './account-routes.ts';
import { AUTH_ERROR_CODES } from './errors.ts';
import { protectScope } from './guard.ts';
import { AuthMetrics } from './metrics.ts';
import { DatabaseChallengeStore } from './otp/postgres-store.ts';
import { RedisChallengeStore } from './otp/redis-store.ts';
import { OtpService } from './otp/service.ts';
import { TestNumbers } from './otp/test-numbers.ts';
import type { RateLimiter } from './rate-limit/limiter.ts';
import { MemoryRateLimiter } from './rate-limit/memory.ts';
import { RedisRateLimiter } from './rate-limit/redis.ts';
import { Sessions } from './sessions.ts';
import { signupRoutes } from './signup-routes.ts';
import { countCallingCodes } from './phone.ts';
import { DatabaseSmsBudget, RedisSmsBudget, type BudgetAlerts, type SmsBudget } from './sms-budget.ts';
import { createSmsProvider } from './sms/create.ts';
import { DEFAULT_SMS_BASE_DELAY_MS, DEFAULT_SMS_MAX_DELAY_MS, SmsSender } from './sms/sender.ts';
import { deleteExpiredTokens } from './tokens.ts';

export interface AuthDependencies extends FeatureDependencies {
  /** The first wait between SMS send attempts (tests shorten it). */
  smsRetryBaseDelayMs?: number;
}

/**
 * Auth: sign-up by a one-time code sent by SMS (with its abuse limits and the shared SMS budget),
 * bearer-token sessions, and the guard that protects every route needing a signed-in person.
 */
export interface AuthModule extends FeatureModule {
  otp: OtpService;
  rateLimiter: RateLimiter;
  smsBudget: SmsBudget;
  sms: SmsSender;
  /** The only owner of tokens. */
  sessions: Sessions;
  /** Authenticates every request of `scope` before anything else of it runs. */
  protect(scope: FastifyInstance): void;
}

export function createAuth(deps: AuthDependencies): AuthModule {
  const { config, db, redis, logger, now } = deps;
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
  const smsBudget = openSmsBudget(deps);
  const metrics = new AuthMetrics(deps.metrics, { limits: smsBudget.limits, used: () => smsBudget.used() });
  const sms = new SmsSender(
    createSmsProvider(config, logger),
    deps.background,
    logger,
    {
      maxAttempts: config.smsMaxAttempts,
      baseDelayMs: deps.smsRetryBaseDelayMs ?? DEFAULT_SMS_BASE_DELAY_MS,
      maxDelayMs: DEFAULT_SMS_MAX_DELAY_MS,
    },
    metrics,
  );
  const sessions = new Sessions(db, config.tokenTtlHours, {
    ttlMs: deps.cacheTtlMs,
    now,
    countLookup: deps.metrics.cache('tokens'),
  });
  const testNumbers = createTestNumbers(deps);
  const signup = { config, db, otp, rateLimiter, sms, smsBudget, testNumbers, sessions, metrics };

  return {
    otp,
    rateLimiter,
    smsBudget,
    sms,
    sessions,
    protect: (scope) => protectScope(scope, sessions),
    errorCodes: AUTH_ERROR_CODES,
    publicRoutes: (app) => app.register(signupRoutes, signup),
    protectedRoutes: (app) => app.register(accountRoutes, { sessions }),
    periodicTasks: [
      { name: 'expired tokens', run: () => deleteExpiredTokens(db) },
      { name: 'expired OTP challenges', run: () => otp.store.deleteExpired() },
      { name: 'rate-limit counters', run: () => rateLimiter.prune() },
      { name: 'past SMS budgets', run: () => smsBudget.prune() },
    ],
  };
}

function createTestNumbers({ config, logger, now }: FeatureDependencies): TestNumbers {
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
  return testNumbers;
}

/** SMS_PER_HOUR in Redis when there is one, else in the database; its alerts go to the log. */
function openSmsBudget({ config, db, redis, logger, now }: FeatureDependencies): SmsBudget {
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
