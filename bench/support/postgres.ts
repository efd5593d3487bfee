import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Migrator } from '../../src/platform/db/migrator.ts';
import { openDatabase } from '../../src/platform/db/open.ts';
import { createPostgresDatabase, type PostgresDatabase } from '../../test/support/postgres.ts';

const run = promisify(execFile);
const YARDSTICK = fileURLToPath(new URL('../yardstick', import.meta.url));

/** The server the benchmarks create their databases on (loopback PostgreSQL by default). */
export const ADMIN_URL =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh database with the project's migrations applied (through its own migrator). */
export async function createMigratedDatabase(): Promise<PostgresDatabase> {
  const database = await createPostgresDatabase(ADMIN_URL, 'cheershare_bench_');
  const db = await openDatabase({ databaseUrl: database.url, dataDir: '' });
  try {
    await new Migrator(db).up();
  } finally {
    await db.close();
  }
  return database;
}

/** The shared seed: `users` users with one token each (written to `tokensFile`), `creatives` alternating today/tomorrow. */
export async function seed(databaseUrl: string, tokensFile: string, users = 200, creatives = 20): Promise<string> {
  const { stdout } = await run('bash', [`${YARDSTICK}/seed.sh`, databaseUrl, tokensFile, String(users), String(creatives)]);
  return stdout.trim();
}

export interface PgbenchResult {
  clients: number;
  threads: number;
  tps: number;
  latencyAvgMs: number;
}

/** The yardstick: PostgreSQL's own rate for the two SELECTs one GET /scheduled costs the original. */
export async function pgbenchScheduled(
  databaseUrl: string,
  tokensFile: string,
  clients: number,
  seconds: number,
): Promise<PgbenchResult> {
  const threads = clients >= 100 ? 2 : 1;
  const { stdout } = await run('bash', [`${YARDSTICK}/pgbench-scheduled.sh`, databaseUrl, tokensFile], {
    env: { ...process.env, CONFIGS: `${threads}:${clients}`, DURATION: String(seconds) },
    timeout: (seconds + 60) * 1000,
  });
  const match = /^RESULT threads=(\d+) clients=(\d+) tps=([\d.]+) latency_avg_ms=([\d.]+)/m.exec(stdout);
  if (!match) throw new Error(`pgbench printed no result:\n${stdout}`);
  return {
    threads: Number(match[1]),
    clients: Number(match[2]),
    tps: Math.round(Number(match[3])),
    latencyAvgMs: Number(match[4]),
  };
}
