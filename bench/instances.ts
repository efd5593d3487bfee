/**
 * Several instances behind nginx (deploy/nginx) against one instance directly, on this machine:
 *
 *   npx tsx bench/instances.ts [--seconds 10] [--connections 50]
 *
 * Two instances of dist/main.js (run `npm run build` first) on one fresh PostgreSQL database and
 * one UPLOAD_DIR, nginx in front with the uploads-local block. Measures, each pair back to back:
 * GET /scheduled req/s and 1 MiB uploads in MiB/s, instance A directly vs nginx over A and B; and
 * GET /uploads/<100 KB file> req/s served by Node (A directly) vs by nginx from UPLOAD_DIR.
 * Prints the figures as JSON. Needs wrk and nginx.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startNginx } from '../test/support/nginx.ts';
import { createMigratedDatabase, seed } from './support/postgres.ts';
import { startServer } from './support/server.ts';
import { wrk } from './support/wrk.ts';
import { runUploads } from './uploads.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '50' } },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const MIB = 1024 * 1024;

const workDir = mkdtempSync(join(tmpdir(), 'cheershare-bench-instances-'));
const uploadDir = join(workDir, 'uploads');
const database = await createMigratedDatabase();
try {
  const tokensFile = join(workDir, 'tokens.txt');
  await seed(database.url, tokensFile);
  const env = {
    ENV: 'test',
    APP_SECRET: randomBytes(24).toString('hex'),
    DATABASE_URL: database.url,
    UPLOAD_DIR: uploadDir,
    TRUST_PROXY: '1',
  };
  const [a, b] = await Promise.all([startServer('dist', env, workDir), startServer('dist', env, workDir)]);
  const nginx = await startNginx({ upstreams: [new URL(a.url).port, new URL(b.url).port].map(Number), uploadDir });
  try {
    const token = readFileSync(tokensFile, 'utf8').split('\n')[0]!;
    const authorization = `Bearer ${token}`;
    const targets = { 'one instance, directly': a.url, 'two instances through nginx': nginx.url };
    const results: Record<string, unknown> = { seconds, connections };

    const feedEnv = { TOKENS_FILE: tokensFile };
    for (const url of Object.values(targets)) await wrk(url, 'scheduled.lua', { connections, seconds: 3, env: feedEnv });
    for (const [name, url] of Object.entries(targets)) {
      const load = await wrk(url, 'scheduled.lua', { connections, seconds, env: feedEnv });
      results[`feed: ${name}`] = { requestsPerSecond: load.requestsPerSecond, p99Ms: load.latencyMs.p99, errors: load.errors };
    }

    for (const [name, url] of Object.entries(targets)) {
      const run = await runUploads(url, authorization, { size: MIB, concurrency: 8, uploads: 64 });
      results[`uploads 1 MiB × 64, 8 at once: ${name}`] = { mibPerSecond: Math.round(64 / run.seconds), failures: run.failures };
    }

    const file = await runUploads(a.url, authorization, { size: 100 * 1024, concurrency: 1, uploads: 1 });
    const fileEnv = { ...feedEnv, WRK_PATH: file.lastCreativeUrl! };
    const servers = { 'Node (one instance)': a.url, 'nginx from UPLOAD_DIR': nginx.url };
    for (const url of Object.values(servers)) await wrk(url, 'scheduled.lua', { connections, seconds: 3, env: fileEnv });
    for (const [name, url] of Object.entries(servers)) {
      const load = await wrk(url, 'scheduled.lua', { connections, seconds, env: fileEnv });
      results[`GET /uploads/<100 KB>: ${name}`] = {
        requestsPerSecond: load.requestsPerSecond,
        p99Ms: load.latencyMs.p99,
        errors: load.errors,
      };
    }
    console.log(JSON.stringify(results, null, 2));
  } finally {
    await nginx.stop();
    await Promise.all([a.stop(), b.stop()]);
  }
} finally {
  await database.drop();
  rmSync(workDir, { recursive: true, force: true });
}
