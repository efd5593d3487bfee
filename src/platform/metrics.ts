import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolUse } from './db/database.ts';

/**
 * The SMS budget shared by every instance, by share: each share's size, and how much of it is used
 * (read from Redis or the database at each scrape).
 */
export interface SmsBudgetSource {
  limits: Record<string, number>;
  used: () => Promise<Record<string, number>>;
}

/** What to export besides the counters: process metrics, and where the gauges read their values at each scrape. */
export interface MetricsOptions {
  /** Process and event-loop metrics (prom-client's defaults): only when someone scrapes them. */
  processMetrics?: boolean;
  pool?: () => PoolUse;
  backgroundTasks?: () => number;
  smsBudget?: SmsBudgetSource;
}

type CacheResult = 'hit' | 'miss';

// Seconds: from a cached feed (about a millisecond) to an upload over a slow link.
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const IMAGE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * One instance's Prometheus metrics, in a registry of their own (each app, and so each test, has
 * its own). Features pass only bounded names as label values — outcomes, error codes, limit and
 * cache names, route patterns — never a phone number, token, address, code, user id or file name.
 * Counters are this instance's; what all instances share (the SMS budget) is read from its store.
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

  readonly otpRequests = new Counter({
    name: 'otp_requests_total',
    help: 'Requests for a one-time code, by outcome (sent, or the error code of the refusal)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly otpVerifications = new Counter({
    name: 'otp_verifications_total',
    help: 'Attempts to verify a one-time code, by outcome (verified, or the error code of the refusal)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly smsSends = new Counter({
    name: 'sms_sends_total',
    help: 'Codes handed to the SMS provider, by final outcome after retries (sent; failed; logged: SMS_PROVIDER=console, nothing sent)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly rateLimitRefusals = new Counter({
    name: 'rate_limit_refusals_total',
    help: 'Requests refused by a rate limit, by the name of the limit',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });

  readonly uploads = new Counter({
    name: 'uploads_total',
    help: 'Upload requests, by outcome (stored, or the error code of the refusal)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly uploadBytes = new Counter({
    name: 'upload_bytes_total',
    help: 'Bytes of the accepted uploads as stored (the stripped original; variants not counted)',
    registers: [this.registry],
  });

  readonly imageProcessingDuration = new Histogram({
    name: 'image_processing_seconds',
    help: 'Time spent decoding an uploaded image and making its variants',
    buckets: IMAGE_BUCKETS,
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
    const { processMetrics, pool, backgroundTasks, smsBudget } = options;
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
    if (smsBudget) this.registerBudget(smsBudget);
  }

  /** Counts one cache's lookups in cache_lookups_total{cache=name}. */
  cache(name: string): (result: CacheResult) => void {
    const pending = { hit: 0, miss: 0 };
    this.pendingLookups.set(name, pending);
    return (result) => pending[result]++;
  }

  /** Runs `work`, timing it in image_processing_seconds whether it succeeds or throws. */
  async timeImageProcessing<T>(work: () => Promise<T>): Promise<T> {
    const end = this.imageProcessingDuration.startTimer();
    try {
      return await work();
    } finally {
      end();
    }
  }

  /** Prometheus text exposition of every metric. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  private registerBudget({ limits, used }: SmsBudgetSource): void {
    const sum = (values: Record<string, number>) => Object.values(values).reduce((total, value) => total + value, 0);
    const read = () => used().catch(() => undefined);
    new Gauge({
      name: 'sms_budget_reserved',
      // Not the codes sent: instances take sends from the budget in blocks (up to 10) and hand them out
      // from memory. sms_sends_total{outcome="sent"}, summed over instances, counts what really went out.
      help: 'Sends reserved from the current hour of SMS_PER_HOUR by every instance together, in blocks of up to 10 (ahead of the codes really sent: see sms_sends_total)',
      registers: [this.registry],
      // A read that fails reports NaN rather than failing the whole scrape: the other metrics still
      // arrive while the store is down.
      async collect() {
        const values = await read();
        this.set(values ? sum(values) : NaN);
      },
    });
    new Gauge({
      name: 'sms_budget_limit',
      help: 'Text messages allowed in a budget window, by every instance together',
      registers: [this.registry],
    }).set(sum(limits));
    new Gauge({
      name: 'sms_budget_share_used',
      help: 'Sends reserved in the current budget window from each share (known numbers, new numbers), in blocks of up to 10 like sms_budget_reserved',
      labelNames: ['share'] as const,
      registers: [this.registry],
      async collect() {
        const values = await read();
        for (const share of Object.keys(limits)) this.set({ share }, values?.[share] ?? NaN);
      },
    });
    const shareLimit = new Gauge({
      name: 'sms_budget_share_limit',
      help: 'Text messages allowed in a budget window from each share (known numbers, new numbers)',
      labelNames: ['share'] as const,
      registers: [this.registry],
    });
    for (const [share, limit] of Object.entries(limits)) shareLimit.set({ share }, limit);
  }
}
