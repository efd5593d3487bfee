import { startFeedServer } from './support/feed-server.ts';
import { pgbenchScheduled, type PgbenchResult } from './support/postgres.ts';
import type { ServerCommand } from './support/server.ts';
import { wrk, type LoadResult } from './support/wrk.ts';

export interface FeedPoint {
  connections: number;
  pgbench: PgbenchResult;
  server: LoadResult;
  /** Our requests/s over pgbench's transactions/s, measured back to back. */
  ratio: number;
}

export interface FeedResult {
  seed: string;
  command: ServerCommand;
  points: FeedPoint[];
  serverErrorLogLines: number;
  peakRssMib: number;
}

/**
 * GET /scheduled against PostgreSQL with rotating tokens, and at each connection count the
 * pgbench yardstick right before it, so both see the same background load.
 */
export async function benchFeed(options: {
  connections: number[];
  seconds: number;
  workDir: string;
  command: ServerCommand;
  serverEnv?: Record<string, string>;
  log: (line: string) => void;
}): Promise<FeedResult> {
  const { connections, seconds, workDir, command, log } = options;
  const { database, tokensFile, seeded, server, close } = await startFeedServer({
    command,
    workDir,
    serverEnv: options.serverEnv,
  });
  try {
    log(seeded);
    const env = { TOKENS_FILE: tokensFile };
    // Warm-up: JIT, the pool's connections, any cache.
    await wrk(server.url, 'scheduled.lua', { connections: 50, seconds: 3, env });
    const points: FeedPoint[] = [];
    for (const c of connections) {
      const pgbench = await pgbenchScheduled(database.url, tokensFile, c, seconds);
      const result = await wrk(server.url, 'scheduled.lua', { connections: c, seconds, env });
      const ratio = Math.round((result.requestsPerSecond / pgbench.tps) * 100) / 100;
      log(
        `  ${String(c).padStart(3)} conns: pgbench ${pgbench.tps} tps | GET /scheduled ${result.requestsPerSecond} req/s ` +
          `(${ratio}×), p99 ${result.latencyMs.p99} ms, errors ${result.errors}`,
      );
      points.push({ connections: c, pgbench, server: result, ratio });
    }
    return {
      seed: seeded,
      command,
      points,
      serverErrorLogLines: server.logLines(50).length,
      peakRssMib: Math.round(server.memoryMib('VmHWM')),
    };
  } finally {
    await close();
  }
}
