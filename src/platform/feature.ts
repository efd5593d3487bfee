import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { BackgroundTasks } from './background.ts';
import type { Database } from './db/database.ts';
import type { ErrorCodes } from './http/errors.ts';
import type { Metrics } from './metrics.ts';
import type { CleanupTask } from './periodic.ts';

/** What the platform hands each feature when the container builds it. */
export interface FeatureDependencies {
  config: Config;
  db: Database;
  /** Set when REDIS_URL is: shared state lives there instead of the database or memory. */
  redis: Redis | undefined;
  logger: FastifyBaseLogger;
  background: BackgroundTasks;
  /** The registry a feature registers its metrics on. */
  metrics: Metrics;
  now: () => number;
  /** How long in-process caches keep an entry (tests set 0). */
  cacheTtlMs: number | undefined;
}

/** A route plugin, registered by the app in the public scope or in the one the guard protects. */
export type Routes = (app: FastifyInstance) => PromiseLike<unknown>;

/** What a feature hands back: the app and the server need nothing else of it. */
export interface FeatureModule {
  /** The codes its errors carry, beside the platform's (the OpenAPI document lists them). */
  errorCodes: ErrorCodes;
  /** Routes anyone may call. */
  publicRoutes?: Routes;
  /** Routes that need a signed-in person: registered behind the guard. */
  protectedRoutes?: Routes;
  /** Work the server runs every few minutes (expired entries, leftovers). */
  periodicTasks: CleanupTask[];
  /** Releases what it opened, after requests and background work have finished. */
  close?(): Promise<void>;
}
