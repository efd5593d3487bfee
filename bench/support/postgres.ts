import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { Migrator } from '../../src/db/migrate.ts';
import { openDatabase } from '../../src/db/open.ts';

const run = promisify(execFile);
const YARDSTICK = fileURLToPath(new URL('../yardstick', import.meta.url));

/** The server the benchmarks create their databases on (loopback PostgreSQL by default). */
export const ADMIN_URL =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh database with the project's migrations applied (through its own migrator). */
export async function createMigratedDatabase(): Promise<BenchDatabase> {
  const name = `cheershare_bench_${randomBytes(5).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const db = await openDatabase({ databaseUrl: url.toString(), dataDir: '' });
  try {
    await new Migrator(db).up();
  } finally {
    await db.close();
  }
  return {
    url: url.toString(),
    drop: () => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
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
