import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type LabelValues } from 'prom-client';
import type { PoolUse } from './db/database.ts';

/**
 * Exports `counter` at 0 for each of `values` of its `label`, from now on: an alert on a series
 * sees 0 on a fresh instance instead of no data until the first event. The feature that counts
 * these outcomes names them, so the list and the counting stay side by side.
 */
export function startAtZero<Label extends string>(counter: Counter<Label>, label: Label, values: readonly string[]): void {
  for (const value of values) counter.inc({ [label]: value } as LabelValues<Label>, 0);
}

/** What to export besides the counters: process metrics, and where the gauges read their values at each scrape. */
export interface MetricsOptions {
  /** Process and event-loop metrics (prom-client's defaults): only when someone scrapes them. */
  processMetrics?: boolean;
  pool?: () => PoolUse;
  backgroundTasks?: () => number;
}

type CacheResult = 'hit' | 'miss';

// Seconds: from a cached feed (about a millisecond) to an upload over a slow link.
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * One instance's Prometheus metrics, in a registry of their own (each app, and so each test, has
 * its own): the mechanisms' (request durations, limits, caches, the pool, background work), and
 * beside them each feature's, which it registers on `registry` (auth/metrics.ts,
 * creatives/metrics.ts). Label values are bounded names only — outcomes, error codes, limit and
 * cache names, route patterns — never a phone number, token, address, code, user id or file name.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving a request to sending its response, by route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: REQUEST_BUCKETS,
    registers: [this.registry],
  });

  readonly rateLimitRefusals = new Counter({
    name: 'rate_limit_refusals_total',
    help: 'Requests refused by a rate limit, by the name of the limit',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });

  // Lookups happen on every authenticated request: counted in plain numbers, handed over at each scrape.
  private readonly pendingLookups = new Map<string, Record<CacheResult, number>>();

  readonly cacheLookups = new Counter({
    name: 'cache_lookups_total',
    help: 'In-process cache lookups, by cache name and result (hit, miss)',
    labelNames: ['cache', 'result'] as const,
    registers: [this.registry],
    collect: () => {
      for (const [cache, pending] of this.pendingLookups) {
        for (const result of ['hit', 'miss'] as const) {
          this.cacheLookups.inc({ cache, result }, pending[result]);
          pending[result] = 0;
        }
      }
    },
  });

  constructor(options: MetricsOptions = {}) {
    const { processMetrics, pool, backgroundTasks } = options;
    if (processMetrics) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named like counters (promtool flags them); each is the sum over its
      // nodejs_active_<what>{type} gauge, which stays.
      for (const what of ['handles', 'requests', 'resources']) this.registry.removeSingleMetric(`nodejs_active_${what}_total`);
    }
    if (pool) {
      new Gauge({
        name: 'db_pool_connections',
        help: 'Database connections by state (in_use, idle)',
        labelNames: ['state'] as const,
        registers: [this.registry],
        collect() {
          const use = pool();
          this.set({ state: 'in_use' }, use.inUse);
          this.set({ state: 'idle' }, use.idle);
        },
      });
      new Gauge({
        name: 'db_pool_waiting_queries',
        help: 'Queries waiting for a database connection',
        registers: [this.registry],
        collect() {
          this.set(pool().waiting);
        },
      });
    }
    if (backgroundTasks) {
      new Gauge({
        name: 'background_tasks_in_flight',
        help: 'Work running after its request was answered (SMS sends and their retries)',
        registers: [this.registry],
        collect() {
          this.set(backgroundTasks());
        },
      });
    }
  }

  /** Counts one cache's lookups in cache_lookups_total{cache=name}. */
  cache(name: string): (result: CacheResult) => void {
    const pending = { hit: 0, miss: 0 };
    this.pendingLookups.set(name, pending);
    return (result) => pending[result]++;
  }

  /** Prometheus text exposition of every metric. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}
