import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort } from '../test/support/server-process.ts';
import { createMigratedDatabase, seed } from './support/postgres.ts';
import { startServer, type BenchServer, type ServerCommand } from './support/server.ts';
import { wrk, type LoadResult } from './support/wrk.ts';

type Mode = 'off' | 'on';
type Workload = 'feed' | 'signup';

export interface MetricsCostRun {
  workload: Workload;
  mode: Mode;
  burst: number;
  result: LoadResult;
  /**
   * The server's CPU time (user + system) per request, in µs: what metrics cost, measured apart from
   * how much of the shared cores the server got while other work ran.
   */
  cpuMicrosPerRequest: number;
}

export interface MetricsCostResult {
  connections: number;
  secondsPerBurst: number;
  scrapeIntervalMs: number;
  /** Scrapes of the metrics-on servers, and how many did not answer 200. */
  scrapes: number;
  failedScrapes: number;
  runs: MetricsCostRun[];
  /** Median req/s with metrics on over with them off, per workload (1 = no cost). */
  ratio: Record<Workload, number>;
  /** Median CPU per request with metrics on over with them off, per workload (1 = no cost). */
  cpuRatio: Record<Workload, number>;
}

/**
 * GET /scheduled and POST /signup (request phase) against two servers at once, one with
 * METRICS_PORT unset and one with it set, in short bursts that alternate between them (the order
 * flips each time), so that the machine's changing load falls on both alike. The metrics-on server
 * is scraped every `scrapeIntervalMs` throughout (Prometheus's default is every 15 s: this is
 * harsher). The limits are raised out of the way: the bursts repeat signup.lua's numbers and
 * addresses, and the run measures the path, not the refusals.
 */
export async function benchMetricsCost(options: {
  connections: number;
  seconds: number;
  bursts: number;
  workDir: string;
  command: ServerCommand;
  log: (line: string) => void;
}): Promise<MetricsCostResult> {
  const { connections, seconds, bursts, workDir, command, log } = options;
  const scrapeIntervalMs = 1_000;
  const database = await createMigratedDatabase();
  const servers: BenchServer[] = [];
  try {
    const tokensFile = join(workDir, 'metrics-tokens.txt');
    await seed(database.url, tokensFile);
    const metricsPort = await freePort();
    const start = (extra: Record<string, string>) =>
      startServer(
        command,
        {
          // Not production: that refuses the console SMS provider and TRUST_PROXY=true, which
          // signup.lua needs (each request its own client address). Logs are JSON either way.
          ENV: 'development',
          APP_SECRET: randomBytes(24).toString('hex'),
          DATABASE_URL: database.url,
          UPLOAD_DIR: join(workDir, 'uploads'),
          TRUST_PROXY: 'true',
          OTP_RESEND_SECONDS: '1',
          OTP_PER_NUMBER_PER_HOUR: '1000000000',
          OTP_PER_IP_PER_HOUR: '1000000000',
          OTP_PER_PREFIX_PER_HOUR: '1000000000',
          SMS_PER_HOUR: '1000000000',
          ...extra,
        },
        workDir,
      );
    const byMode: Record<Mode, BenchServer> = { off: await start({}), on: await start({ METRICS_PORT: String(metricsPort) }) };
    servers.push(byMode.off, byMode.on);
    const scraper = scrapeEvery(`http://127.0.0.1:${metricsPort}/metrics`, scrapeIntervalMs);
    const env = { TOKENS_FILE: tokensFile };
    const runs: MetricsCostRun[] = [];
    for (const workload of ['feed', 'signup'] as const) {
      const script = workload === 'feed' ? 'scheduled.lua' : 'signup.lua';
      // Warm-up: JIT, the pool's connections, the caches.
      for (const server of Object.values(byMode)) await wrk(server.url, script, { connections, seconds: 2, env });
      for (let burst = 1; burst <= bursts; burst++) {
        for (const mode of burst % 2 === 1 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
          const server = byMode[mode];
          const cpuBefore = server.cpuSeconds();
          const result = await wrk(server.url, script, { connections, seconds, env });
          const cpuMicrosPerRequest = Math.round(((server.cpuSeconds() - cpuBefore) * 1e6) / result.requests);
          log(
            `  ${workload.padEnd(6)} burst ${String(burst).padStart(2)} metrics ${mode.padEnd(3)}: ${result.requestsPerSecond} req/s, ` +
              `${cpuMicrosPerRequest} µs CPU/request, p99 ${result.latencyMs.p99} ms, errors ${result.errors}`,
          );
          runs.push({ workload, mode, burst, result, cpuMicrosPerRequest });
        }
      }
    }
    const { scrapes, failed } = await scraper.stop();
    const ratioOf = (workload: Workload, measure: (run: MetricsCostRun) => number) => {
      const of = (mode: Mode) => median(runs.filter((run) => run.workload === workload && run.mode === mode).map(measure));
      return Math.round((of('on') / of('off')) * 1000) / 1000;
    };
    const rate = (run: MetricsCostRun) => run.result.requestsPerSecond;
    const cpu = (run: MetricsCostRun) => run.cpuMicrosPerRequest;
    return {
      connections,
      secondsPerBurst: seconds,
      scrapeIntervalMs,
      scrapes,
      failedScrapes: failed,
      runs,
      ratio: { feed: ratioOf('feed', rate), signup: ratioOf('signup', rate) },
      cpuRatio: { feed: ratioOf('feed', cpu), signup: ratioOf('signup', cpu) },
    };
  } finally {
    for (const server of servers) await server.stop();
    await database.drop();
  }
}

function scrapeEvery(url: string, intervalMs: number): { stop(): Promise<{ scrapes: number; failed: number }> } {
  let scrapes = 0;
  let failed = 0;
  let last = Promise.resolve();
  const timer = setInterval(() => {
    last = fetch(url).then(
      async (res) => {
        await res.text();
        scrapes++;
        if (res.status !== 200) failed++;
      },
      () => {
        scrapes++;
        failed++;
      },
    );
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await last;
      return { scrapes, failed };
    },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
