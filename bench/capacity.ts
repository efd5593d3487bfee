/**
 * The capacity model's inputs, measured on this machine, then docs/capacity.md written from them:
 *
 *   npm run bench:capacity [-- --seconds 10] [--report-only]
 *
 * One production-built instance (dist/main.js, ENV=production) on a private PostgreSQL with
 * pg_stat_statements (queries counted), a private Redis (commands counted) and moto's S3 behind a
 * counting proxy (bucket requests counted). The server's CPU time is read from /proc before and
 * after each part, so the figures are CPU seconds per request: what a core can do, whatever else
 * the machine was doing. Writes bench/results-capacity.json; bench/capacity-model.ts turns it into
 * the document (`--report-only` does only that).
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';
import { base32 } from '../src/auth/tokens.ts';
import { Migrator } from '../src/platform/db/migrator.ts';
import { openDatabase } from '../src/platform/db/open.ts';
import { startMoto } from '../test/support/moto.ts';
import { uploadForm } from '../test/support/multipart.ts';
import { noisyJpeg } from '../test/support/photos.ts';
import { PrivatePostgres, PrivateRedis } from '../test/support/private-servers.ts';
import { writeCapacityDocument, type CapacityInputs } from './capacity-model.ts';
import { startCountingProxy } from './support/counting-proxy.ts';
import { productionEnv, ROOT, startServer, type BenchServer } from './support/server.ts';

const RESULTS = join(ROOT, 'bench/results-capacity.json');
const COMMAND = 'npm run bench:capacity';
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, 'report-only': { type: 'boolean' } } });

if (!values['report-only']) writeFileSync(RESULTS, `${JSON.stringify(await measure(Number(values.seconds)), null, 2)}\n`);
writeCapacityDocument(JSON.parse(readFileSync(RESULTS, 'utf8')) as CapacityInputs, join(ROOT, 'docs/capacity.md'));
console.log('wrote docs/capacity.md');

interface Counts {
  cpuSeconds: number;
  queries: number;
  redisCommands: number;
  bucketRequests: number;
}

async function measure(seconds: number): Promise<CapacityInputs> {
  const work = mkdtempSync(join(tmpdir(), 'cheershare-capacity-'));
  const postgres = await PrivatePostgres.create();
  postgres.start(['shared_preload_libraries=pg_stat_statements', 'max_connections=200']);
  const redis = await PrivateRedis.create();
  await redis.start();
  const moto = await startMoto();
  const proxy = await startCountingProxy(moto.endpoint);
  const sql = new pg.Client({ connectionString: postgres.url });
  await sql.connect();
  const redisClient = new Redis(redis.url);
  let server: BenchServer | undefined;
  try {
    await sql.query('CREATE EXTENSION pg_stat_statements');
    const db = await openDatabase({ databaseUrl: postgres.url, dataDir: '' });
    await new Migrator(db).up();
    await db.close();
    const testNumbers = Array.from({ length: 8 }, (_, i) => `+9199999000${String(i + 1).padStart(2, '0')}`);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
    server = await startServer(
      'dist',
      {
        ...productionEnv(),
        ...moto.env(await moto.createBucket()),
        S3_ENDPOINT: proxy.url,
        DATABASE_URL: postgres.url,
        REDIS_URL: redis.url,
        LOG_LEVEL: 'info',
        OTP_TEST_NUMBERS: testNumbers.map((number) => `${number}=123456`).join(','),
        OTP_TEST_NUMBERS_UNTIL: tomorrow,
        UPLOADS_PER_USER_PER_HOUR: '1000',
        OTP_PER_PREFIX_PER_HOUR: '1000',
        TRUST_PROXY: '1',
      },
      work,
    );
    const running = server;
    const counts = async (): Promise<Counts> => ({
      cpuSeconds: running.cpuSeconds(),
      queries: Number(
        (
          await sql.query<{ calls: string | null }>(
            "SELECT sum(calls) AS calls FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'",
          )
        ).rows[0]!.calls ?? 0,
      ),
      redisCommands: Number(/total_commands_processed:(\d+)/.exec(await redisClient.info('stats'))![1]),
      bucketRequests: [...proxy.counts.values()].reduce((sum, count) => sum + count, 0),
    });
    /** What `work` cost the server per unit (`units` requests or uploads). */
    const per = async (units: number, run: () => Promise<unknown>) => {
      const before = await counts();
      await run();
      const after = await counts();
      return {
        cpuMs: ((after.cpuSeconds - before.cpuSeconds) * 1000) / units,
        queries: (after.queries - before.queries) / units,
        // The INFO that reads the count is a command too.
        redisCommands: (after.redisCommands - before.redisCommands - 1) / units,
        bucketRequests: (after.bucketRequests - before.bucketRequests) / units,
      };
    };

    const tokens = await Promise.all(testNumbers.map((number) => signIn(running.url, number)));
    const signIns = await per(8, () => Promise.all(testNumbers.map((number) => signIn(running.url, number))));
    const codeRequests = await per(20, async () => {
      for (let i = 0; i < 20; i++) await requestCode(running.url, `+91981234${String(5000 + i)}`, `10.9.${i}.1`);
    });

    const small = await noisyJpeg(1400, 1000);
    const large = await noisyJpeg(4400, 3200);
    const upload = (token: string, file: Buffer) => postUpload(running.url, token, file, tomorrow);
    const uploads1MiB = await per(6, async () => {
      for (let i = 0; i < 6; i++) await upload(tokens[i % 8]!, small);
    });
    const uploads10MiB = await per(3, async () => {
      for (let i = 0; i < 3; i++) await upload(tokens[i]!, large);
    });
    const idleRss = running.memoryMib('VmRSS');
    running.resetPeak();
    await Promise.all(tokens.map((token) => upload(token, large)));
    const peakRss = running.memoryMib('VmHWM');

    // What the process spends with nothing to do (timers, the SMS retries still running), per second.
    const idle = await per(seconds, () => sleep(seconds * 1000));
    // Feed: every request from another person (a token seen once a second at most, as at scale).
    const people = await seedPeople(sql, 5000);
    let next = 0;
    const feedResult = { requestsPerSecond: 0 };
    const feed = await per(1, async () => {
      const result = await autocannon({
        url: `${running.url}/scheduled`,
        connections: 20,
        duration: seconds,
        requests: [
          { setupRequest: (request) => ({ ...request, headers: { authorization: `Bearer ${people[next++ % people.length]}` } }) },
        ],
      });
      feedResult.requestsPerSecond = result.requests.average;
      return result;
    });
    const feedRequests = feedResult.requestsPerSecond * seconds;
    const feedPerRequest = {
      cpuMs: (feed.cpuMs - idle.cpuMs * seconds) / feedRequests,
      queries: feed.queries / feedRequests,
      redisCommands: feed.redisCommands / feedRequests,
      bucketRequests: feed.bucketRequests / feedRequests,
    };

    const view = await (await fetch(`${running.url}/scheduled`, { headers: { authorization: `Bearer ${tokens[0]}` } })).json();
    const creatives = (view as { scheduled_creatives: { tomorrow: { variants: { thumb: string } }[] } }).scheduled_creatives
      .tomorrow;
    const feedJsonBytes = JSON.stringify(view).length;
    let thumbBytes = 0;
    const thumbs = await per(creatives.length, async () => {
      for (const creative of creatives)
        thumbBytes += (await (await fetch(`${running.url}${creative.variants.thumb}`)).arrayBuffer()).byteLength;
    });
    const rowBytes = await measureRowBytes(sql, people.length);

    const redisBenchmark = execFileSync(
      'redis-benchmark',
      ['-p', String(redis.port), '-q', '-n', '200000', '-t', 'get,set,incr'],
      {
        encoding: 'utf8',
      },
    );
    const redisOpsPerSecond = Math.min(
      ...[...redisBenchmark.matchAll(/([\d.]+) requests per second/g)].map(([, rate]) => Number(rate)),
    );

    return {
      date: new Date().toISOString(),
      command: COMMAND,
      machine: {
        cores: cpus().length,
        cpu: cpus()[0]!.model.trim(),
        node: process.version,
        loadAverage: readFileSync('/proc/loadavg', 'utf8').trim(),
      },
      feed: {
        ...feedPerRequest,
        idleCpuMsPerSecond: idle.cpuMs,
        requestsPerSecondMeasured: feedResult.requestsPerSecond,
        connections: 20,
        people: people.length,
        seconds,
      },
      signIn: signIns,
      codeRequest: codeRequests,
      upload1MiB: { ...uploads1MiB, bytes: small.length },
      upload10MiB: { ...uploads10MiB, bytes: large.length },
      uploadMemory: { idleRssMib: idleRss, peakRssMib: peakRss, concurrent: tokens.length, bytesEach: large.length },
      feedView: {
        jsonBytes: feedJsonBytes,
        creatives: creatives.length,
        thumbBytesAverage: thumbBytes / creatives.length,
        bucketRequestsPerThumb: thumbs.bucketRequests,
      },
      rowBytes,
      redisOpsPerSecond,
    };
  } finally {
    await server?.stop();
    redisClient.disconnect();
    await sql.end();
    await proxy.close();
    await moto.stop();
    await redis.kill();
    postgres.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

async function postJson(url: string, body: unknown, ip: string): Promise<Response> {
  return fetch(`${url}/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify(body),
  });
}

async function requestCode(url: string, phone: string, ip: string): Promise<void> {
  const response = await postJson(url, { name: 'Capacity', phone_number: phone }, ip);
  if (response.status !== 200) throw new Error(`requesting a code: ${response.status} ${await response.text()}`);
}

async function signIn(url: string, phone: string): Promise<string> {
  await requestCode(url, phone, '10.8.0.1');
  const response = await postJson(url, { phone_number: phone, otp: '123456' }, '10.8.0.1');
  if (response.status !== 200) throw new Error(`verifying: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

async function postUpload(url: string, token: string, file: Buffer, date: string): Promise<void> {
  const form = uploadForm(file, date, { filename: 'photo.jpg', contentType: 'image/jpeg' });
  const response = await fetch(`${url}/upload-creative`, {
    method: 'POST',
    headers: { ...form.headers, authorization: `Bearer ${token}` },
    body: form.body,
  });
  if (response.status !== 201) throw new Error(`upload: ${response.status} ${await response.text()}`);
}

/**
 * Bytes per row, indexes included: the growth of each table's total relation size from its
 * seeded rows (`people` users and tokens, and as many copies of an uploaded creative).
 */
async function measureRowBytes(sql: pg.Client, people: number): Promise<{ user: number; token: number; creative: number }> {
  const size = async (table: string) =>
    Number((await sql.query<{ bytes: string }>('SELECT pg_total_relation_size($1::regclass) AS bytes', [table])).rows[0]!.bytes);
  const creativesBefore = await size('creatives');
  // Scheduled long past the feed's days, so the feed measured above is not changed by them.
  await sql.query(
    `INSERT INTO creatives (user_id, creative_url, scheduled_at, content_type, size_bytes, width, height, thumb_url, feed_url, placeholder)
     SELECT c.user_id, '/uploads/' || g.u || '.jpg', c.scheduled_at + 30, c.content_type, c.size_bytes, c.width, c.height,
            '/uploads/' || g.u || '.thumb.webp', '/uploads/' || g.u || '.feed.webp', c.placeholder
     FROM (SELECT * FROM creatives LIMIT 1) c, (SELECT gen_random_uuid() AS u FROM generate_series(1, $1)) g`,
    [people],
  );
  await sql.query('VACUUM ANALYZE users, tokens, creatives');
  return {
    user: (await size('users')) / people,
    token: (await size('tokens')) / people,
    creative: ((await size('creatives')) - creativesBefore) / people,
  };
}

/** `count` people with a live token each, straight into the database; their tokens. */
async function seedPeople(sql: pg.Client, count: number): Promise<string[]> {
  const tokens = Array.from({ length: count }, () => base32(randomBytes(16)));
  const phones = tokens.map((_, i) => `+9198${String(10_000_000 + i)}`);
  await sql.query(
    `WITH made AS (
       INSERT INTO users (name, phone_number) SELECT 'Person', unnest($1::text[]) RETURNING id, phone_number)
     INSERT INTO tokens (hash, user_id, expiry, scope)
     SELECT hash, made.id, now() + interval '1 day', 'authentication'
     FROM unnest($1::text[], $2::bytea[]) AS given(phone_number, hash) JOIN made USING (phone_number)`,
    [phones, tokens.map((token) => createHash('sha256').update(token).digest())],
  );
  return tokens;
}
