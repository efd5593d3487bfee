import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort } from '../test/support/server-process.ts';
import { createMigratedDatabase, seed } from './support/postgres.ts';
import { startServer, type ServerCommand } from './support/server.ts';
import { wrk, type LoadResult } from './support/wrk.ts';

type Mode = 'off' | 'on';

export interface MetricsCostRun {
  workload: 'feed' | 'signup';
  mode: Mode;
  round: number;
  result: LoadResult;
  /** Scrapes of /metrics during the run (mode on), and how many did not answer 200. */
  scrapes: number;
  failedScrapes: number;
}

export interface MetricsCostResult {
  connections: number;
  scrapeIntervalMs: number;
  runs: MetricsCostRun[];
  /** Median req/s with metrics on over with them off, per workload (1 = no cost). */
  ratio: Record<'feed' | 'signup', number>;
}

/**
 * GET /scheduled and POST /signup (request phase) with METRICS_PORT unset and set, alternating the
 * order each round so that a drift in the machine's load falls on both. With metrics on, /metrics is
 * scraped every `scrapeIntervalMs` during the run (Prometheus's default is every 15 s: this is
 * harsher). Every run gets a fresh server, so signup's per-number limits start empty.
 */
export async function benchMetricsCost(options: {
  connections: number;
  seconds: number;
  rounds: number;
  workDir: string;
  command: ServerCommand;
  log: (line: string) => void;
}): Promise<MetricsCostResult> {
  const { connections, seconds, rounds, workDir, command, log } = options;
  const scrapeIntervalMs = 1_000;
  const database = await createMigratedDatabase();
  try {
    const tokensFile = join(workDir, 'metrics-tokens.txt');
    await seed(database.url, tokensFile);
    const runs: MetricsCostRun[] = [];
    for (let round = 1; round <= rounds; round++) {
      const modes: Mode[] = round % 2 === 1 ? ['off', 'on'] : ['on', 'off'];
      for (const workload of ['feed', 'signup'] as const) {
        for (const mode of modes) {
          const metricsPort = mode === 'on' ? await freePort() : undefined;
          const server = await startServer(
            command,
            {
              ENV: 'production',
              APP_SECRET: randomBytes(24).toString('hex'),
              DATABASE_URL: database.url,
              UPLOAD_DIR: join(workDir, 'uploads'),
              TRUST_PROXY: 'true',
              ...(metricsPort ? { METRICS_PORT: String(metricsPort) } : {}),
            },
            workDir,
          );
          try {
            const script = workload === 'feed' ? 'scheduled.lua' : 'signup.lua';
            const env = { TOKENS_FILE: tokensFile };
            // Warm-up (JIT, the pool's connections); signup's would use up numbers, so it is short.
            if (workload === 'feed') await wrk(server.url, script, { connections, seconds: 2, env });
            const scraper = metricsPort ? scrapeEvery(`http://127.0.0.1:${metricsPort}/metrics`, scrapeIntervalMs) : undefined;
            const result = await wrk(server.url, script, { connections, seconds, env });
            const { scrapes, failed } = (await scraper?.stop()) ?? { scrapes: 0, failed: 0 };
            log(
              `  round ${round} ${workload.padEnd(6)} metrics ${mode.padEnd(3)}: ${result.requestsPerSecond} req/s, ` +
                `p99 ${result.latencyMs.p99} ms, errors ${result.errors}${metricsPort ? `, scrapes ${scrapes} (${failed} failed)` : ''}`,
            );
            runs.push({ workload, mode, round, result, scrapes, failedScrapes: failed });
          } finally {
            await server.stop();
          }
        }
      }
    }
    const ratioOf = (workload: 'feed' | 'signup') => {
      const rate = (mode: Mode) =>
        median(runs.filter((run) => run.workload === workload && run.mode === mode).map((run) => run.result.requestsPerSecond));
      return Math.round((rate('on') / rate('off')) * 1000) / 1000;
    };
    return { connections, scrapeIntervalMs, runs, ratio: { feed: ratioOf('feed'), signup: ratioOf('signup') } };
  } finally {
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
