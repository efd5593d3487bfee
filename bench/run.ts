/**
 * The benchmarks (not tests; run on demand, about five minutes):
 *
 *   npm run bench [-- --only feed,bare,uploads,signup,startup,images] [--seconds 10] [--connections 10,25,50,100]
 *                 [--image-uploads 32] [--baseline COMMIT]
 *   npm run bench -- --only metrics [--seconds 10] [--bursts 6]   (feed and signup, metrics off vs on)
 *
 * Builds dist/, then runs each part against servers on loopback and writes everything measured to
 * bench/results.json (bench/report.ts turns that into tables and bench/feed.svg). PostgreSQL from
 * BENCH_DATABASE_URL or TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
 * where it creates and drops its own databases. Needs wrk and pgbench (Debian: wrk,
 * postgresql-client), and max_connections above 100 plus the server's pool.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { withClient } from '../test/support/postgres.ts';
import { benchBareFeed } from './bare-feed.ts';
import { benchFeed } from './feed.ts';
import { benchImages, buildBaseline } from './images.ts';
import { benchMetricsCost } from './metrics.ts';
import { benchSignup } from './signup.ts';
import { benchStartup } from './startup.ts';
import { ADMIN_URL } from './support/postgres.ts';
import { ROOT } from './support/server.ts';
import { benchUploads } from './uploads.ts';

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'feed,bare,uploads,signup,startup' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10,25,50,100' },
    bursts: { type: 'string', default: '6' },
    out: { type: 'string', default: join(ROOT, 'bench/results.json') },
    /** Uploads per configuration in the images part. */
    'image-uploads': { type: 'string', default: '32' },
    /** The commit whose server is the copy-only one (stores uploads as sent) in the images part: layout-v1. */
    baseline: { type: 'string', default: 'dcc930aceabdae961adb251e3fb7177eae1d0448' },
  },
});
const parts = new Set(values.only.split(','));
const seconds = Number(values.seconds);
const log = (line: string) => console.log(line);
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

log('building dist/ …');
execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: await machine(),
  command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.replace(/ -- $/, ''),
  loadAverageAtStart: loadAverage(),
  /** When each part started, and the machine's load then (other work shares the cores). */
  sections: {},
};
const section = (name: string) => {
  (results.sections as Record<string, { at: string; loadAverage: string }>)[name] = {
    at: new Date().toISOString(),
    loadAverage: loadAverage(),
  };
  log(`${name} (load ${loadAverage()})`);
};
const save = () => writeFileSync(values.out, `${JSON.stringify(results, null, 2)}\n`);

// pgbench's clients, the server's pool and the benchmark's own connections at once.
const connectionsNeeded = Math.max(...values.connections.split(',').map(Number)) + 20;
const { maxConnections } = results.machine as { maxConnections: number };
if (parts.has('feed') && maxConnections < connectionsNeeded) {
  console.error(
    `PostgreSQL allows ${maxConnections} connections; the feed part needs ${connectionsNeeded}. Raise it once:\n` +
      `  psql -h 127.0.0.1 -U postgres -c "ALTER SYSTEM SET max_connections = ${Math.max(300, connectionsNeeded)}"\n` +
      '  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main restart',
  );
  process.exit(1);
}
const workDir = mkdtempSync(join(tmpdir(), 'cheershare-bench-'));
try {
  if (parts.has('feed')) {
    section('feed');
    const connections = values.connections.split(',').map(Number);
    results.feed = await benchFeed({ connections, seconds, workDir, command: 'dist', log });
    save();
  }
  if (parts.has('bare')) {
    section('feedVsBare');
    results.feedVsBare = await benchBareFeed({ connections: 50, seconds, rounds: 3, workDir, command: 'dist', log });
    log(`  median ratio ${(results.feedVsBare as { medianRatio: number }).medianRatio}×`);
    save();
  }
  if (parts.has('uploads')) {
    section('uploads');
    const runs = [];
    // PostgreSQL three times: its peak moves by several MiB from run to run.
    const configurations: { database: 'postgres' | 'pglite'; repeat: number }[] = [
      { database: 'postgres', repeat: 3 },
      { database: 'pglite', repeat: 1 },
    ];
    for (const { database, repeat } of configurations) {
      for (const sizeMib of Array.from({ length: repeat }, () => [1, 10]).flat()) {
        const run = await benchUploads({ database, sizeMib, concurrency: 16, uploads: 64, workDir, command: 'dist' });
        log(
          `  ${database} ${sizeMib} MiB × 16: ${run.uploadsPerSecond} uploads/s, ` +
            `p99 ${run.latencyMs.p99} ms, failures ${run.failures}, RSS idle ${run.rssMib.idle} / peak ${run.rssMib.peakDuringUploads} MiB`,
        );
        runs.push({ ...run, nodeFlags: process.env.BENCH_NODE_FLAGS ?? null });
      }
    }
    results.uploads = runs;
    save();
  }
  if (parts.has('images')) {
    section('images');
    const baseline = buildBaseline(values.baseline, workDir);
    results.images = await benchImages({ workDir, baseline, uploads: Number(values['image-uploads']), log });
    save();
  }
  if (parts.has('signup')) {
    section('signup');
    const runs = [];
    for (const database of ['postgres', 'pglite'] as const) {
      const run = await benchSignup({ database, connections: 50, seconds, workDir, command: 'dist' });
      log(
        `  ${database}${run.redis ? ' + Redis' : ''}: ${run.requestsPerSecond} req/s, ${run.requestsPerCpuSecond} req per server CPU s, ` +
          `p99 ${run.latencyMs.p99} ms, non-2xx ${run.badStatus}, errors ${run.errors}`,
      );
      runs.push(run);
    }
    results.signup = runs;
    save();
  }
  if (parts.has('metrics')) {
    section('metrics');
    results.metrics = await benchMetricsCost({
      connections: 50,
      seconds,
      bursts: Number(values.bursts),
      workDir,
      command: 'dist',
      log,
    });
    const { ratio, cpuRatio } = results.metrics as { ratio: object; cpuRatio: object };
    log(`  metrics on ÷ off (medians): req/s ${JSON.stringify(ratio)}, CPU per request ${JSON.stringify(cpuRatio)}`);
    save();
  }
  if (parts.has('startup')) {
    section('startup');
    const runs = [];
    for (const command of ['npm-start', 'dist'] as const) {
      for (const template of [true, false]) {
        const run = await benchStartup({ command, template, runs: 3, workDir });
        log(`  ${run.command}, template ${template}: fresh ${run.freshMs.join('/')} ms, existing ${run.existingMs.join('/')} ms`);
        runs.push(run);
      }
    }
    results.startup = runs;
  }
  results.loadAverageAtEnd = loadAverage();
  save();
  log(`results in ${values.out}; tables and chart: npx tsx bench/report.ts`);
} finally {
  rmSync(workDir, { recursive: true, force: true });
}

async function machine() {
  const { rows } = await withClient(ADMIN_URL, (client) =>
    client.query<{ version: string; max_connections: string }>(
      "SELECT version(), current_setting('max_connections') AS max_connections",
    ),
  );
  return {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memoryGib: Math.round(totalmem() / 2 ** 30),
    kernel: readFileSync('/proc/version', 'utf8').split(' ').slice(0, 3).join(' '),
    node: process.version,
    postgres: rows[0]!.version.split(' on ')[0],
    maxConnections: Number(rows[0]!.max_connections),
    wrk: spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]!.trim(),
    pgbench: execFileSync('pgbench', ['--version'], { encoding: 'utf8' }).trim(),
  };
}
