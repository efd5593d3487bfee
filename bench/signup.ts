import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createMigratedDatabase } from './support/postgres.ts';
import { startServer, type ServerCommand } from './support/server.ts';
import { wrk, type LoadResult } from './support/wrk.ts';

/** With PostgreSQL, OTP challenges, limits and the SMS budget in this Redis (when set). */
const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL;

export interface SignupResult extends LoadResult {
  database: 'postgres' | 'pglite';
  redis: boolean;
  /** The server process's CPU time (user + system) during the run, and requests per CPU second:
   * on a shared machine the second moves far less than req/s with the other load. */
  serverCpuSeconds: number;
  requestsPerCpuSecond: number;
  serverErrorLogLines: number;
}

/**
 * POST /signup, request phase, with every limit checked at its default: every request has its own
 * phone number (in a number range of its own) and, through X-Forwarded-For behind a trusted
 * proxy, its own client address.
 */
export async function benchSignup(options: {
  database: 'postgres' | 'pglite';
  connections: number;
  seconds: number;
  workDir: string;
  command: ServerCommand;
}): Promise<SignupResult> {
  const { connections, seconds, workDir, command } = options;
  const postgres = options.database === 'postgres' ? await createMigratedDatabase() : undefined;
  try {
    const server = await startServer(
      command,
      {
        // Development: production refuses the console SMS provider, and the bench sends no SMS.
        ENV: 'development',
        APP_SECRET: randomBytes(24).toString('hex'),
        UPLOAD_DIR: join(workDir, 'uploads'),
        // wrk's connection is the one proxy; X-Forwarded-For's entry is the client.
        TRUST_PROXY: '1',
        // Every limit is checked; the budget is set above what a run sends.
        SMS_PER_HOUR: '100000000',
        ...(postgres
          ? { DATABASE_URL: postgres.url, ...(BENCH_REDIS_URL ? { REDIS_URL: BENCH_REDIS_URL } : {}) }
          : { DATA_DIR: join(workDir, `pglite-${randomBytes(4).toString('hex')}`) }),
      },
      workDir,
      // On a loaded machine a start can take minutes.
      240_000,
    );
    try {
      const cpuBefore = server.cpuSeconds();
      const result = await wrk(server.url, 'signup.lua', { connections, seconds });
      const serverCpuSeconds = server.cpuSeconds() - cpuBefore;
      return {
        database: options.database,
        redis: Boolean(postgres && BENCH_REDIS_URL),
        serverCpuSeconds: Math.round(serverCpuSeconds * 100) / 100,
        requestsPerCpuSecond: Math.round(result.requests / serverCpuSeconds),
        ...result,
        serverErrorLogLines: server.logLines(50).length,
      };
    } finally {
      await server.stop();
    }
  } finally {
    await postgres?.drop();
  }
}
