import type { Config } from '../config.ts';
import type { FeatureModule } from '../platform/feature.ts';
import { healthRoutes, type ReadinessCheck } from './health.ts';
import { metaRoutes, type ClientFacts } from './meta.ts';
import { webRoutes } from './web.ts';

export interface SystemDependencies {
  config: Config;
  /** What /readyz checks: the database, and Redis when there is one. */
  readinessChecks: ReadinessCheck[];
  /** What GET /meta tells a client beside the configuration (the other features' limits). */
  clientFacts: ClientFacts;
}

/** System: liveness and readiness, the limits a client checks (GET /meta), and the web client at /. */
export function createSystem({ config, readinessChecks, clientFacts }: SystemDependencies): FeatureModule {
  return {
    errorCodes: {},
    publicRoutes: async (app) => {
      await app.register(healthRoutes, { checks: readinessChecks });
      await app.register(metaRoutes, { config, ...clientFacts });
      await app.register(webRoutes);
    },
    periodicTasks: [],
  };
}
