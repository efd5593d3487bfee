import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { tempDir, TEST_DATABASE_URL, TEST_REDIS_URL } from '../support/backends.ts';
import { png } from '../support/images.ts';
import { startMoto, type Moto } from '../support/moto.ts';
import { uploadForm } from '../support/multipart.ts';
import { startNginx, type Nginx } from '../support/nginx.ts';
import { createPostgresDatabase, withClient, type PostgresDatabase } from '../support/postgres.ts';
import { deleteRedisKeys } from '../support/redis.ts';
import { killStrayProcesses, startServerProcess, type ServerProcess } from '../support/server-process.ts';
import { uniquePhone } from '../support/signup.ts';

// Two instances behind nginx (deploy/nginx) on one PostgreSQL, one Redis and one bucket: whatever
// one instance does, the other sees. Steps that must happen "via A" or "via B" go to that
// instance directly, with the X-Forwarded-For nginx would add; the rest goes through nginx.
const skip = !TEST_DATABASE_URL || !TEST_REDIS_URL ? 'needs TEST_DATABASE_URL and TEST_REDIS_URL' : false;
const OTP_PER_IP_PER_HOUR = 3;
const today = () => new Date().toISOString().slice(0, 10);

describe('two instances behind nginx on PostgreSQL, Redis and an S3 bucket', { skip }, () => {
  let moto: Moto;
  let bucket: string;
  let database: PostgresDatabase;
  let redisUrl: string;
  let a: ServerProcess;
  let b: ServerProcess;
  let nginx: Nginx;
  let ip = 0;
  const clientIp = () => `203.0.113.${++ip}`;

  before(async () => {
    moto = await startMoto();
    bucket = await moto.createBucket();
    database = await createPostgresDatabase(TEST_DATABASE_URL!, 'cheershare_instances_');
    // A database of its own: the instances use the fixed key prefix, which other suites' servers share.
    const url = new URL(TEST_REDIS_URL!);
    url.pathname = `/${randomInt(1, 16)}`;
    redisUrl = url.toString();
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      ...moto.env(bucket),
      TRUST_PROXY: '1',
      SMS_PROVIDER: 'console',
      OTP_PER_IP_PER_HOUR: String(OTP_PER_IP_PER_HOUR),
      // The SIGTERM test's eight workers upload as one person.
      UPLOADS_IN_FLIGHT_PER_USER: '8',
    };
    // Started together on an empty database.
    [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    nginx = await startNginx({ upstreams: [a.port, b.port] });
  });
  after(async () => {
    await nginx?.stop();
    killStrayProcesses();
    await database?.drop();
    if (redisUrl) await deleteRedisKeys(redisUrl, 'cheershare:');
    await moto?.stop();
  });

  const call = (server: { url: string }, path: string, init: RequestInit & { ip?: string } = {}) =>
    fetch(server.url + path, { ...init, headers: { 'x-forwarded-for': init.ip ?? clientIp(), ...init.headers } });

  async function requestCode(server: ServerProcess, phone: string, ip: string): Promise<Response> {
    const seen = server.logs.length;
    const res = await call(server, '/signup', {
      method: 'POST',
      ip,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Asha', phone_number: phone }),
    });
    if (res.ok) await server.waitForLog((line) => server.logs.indexOf(line) >= seen && 'sms' in line);
    return res;
  }

  function lastCode(server: ServerProcess): string {
    const line = server.logs.findLast((l) => 'sms' in l) as unknown as { sms: { message: string } };
    return /\b(\d{4,10})\b/.exec(line.sms.message)![1]!;
  }

  async function signIn(): Promise<{ authorization: string }> {
    const phone = uniquePhone();
    const ip = clientIp();
    assert.equal((await requestCode(a, phone, ip)).status, 200);
    const res = await call(b, '/signup', {
      method: 'POST',
      ip,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone_number: phone, otp: lastCode(a) }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return { authorization: `Bearer ${((await res.json()) as { token: string }).token}` };
  }

  async function upload(server: { url: string }, auth: { authorization: string }, bytes = png(20_000)) {
    const form = uploadForm(bytes, today());
    const res = await call(server, '/upload-creative', {
      method: 'POST',
      headers: { ...auth, ...form.headers },
      body: form.body,
    });
    assert.equal(res.status, 201, await res.clone().text());
    return ((await res.json()) as { creative: { id: number; creative_url: string } }).creative;
  }

  /** Polls `check` until it holds, failing if that takes longer than `ms`. */
  async function within(ms: number, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      assert.ok(Date.now() < deadline, `not seen within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  test('instances started together on an empty database migrate once', async () => {
    const applied = [...a.logs, ...b.logs].filter((line) => line.msg === 'migration applied').map((line) => line.migration);
    assert.ok(applied.length > 0);
    assert.equal(new Set(applied).size, applied.length, `applied twice: ${applied.join(', ')}`);
    const { rows } = await withClient(database.url, (client) => client.query('SELECT dirty FROM schema_migrations'));
    assert.deepEqual(rows, [{ dirty: false }]);
  });

  test('a code requested via A is verified via B', async () => {
    await signIn();
  });

  test('limits are counted once across both instances', async () => {
    const ip = clientIp();
    for (const server of [a, b, a].slice(0, OTP_PER_IP_PER_HOUR)) {
      assert.equal((await requestCode(server, uniquePhone(), ip)).status, 200);
    }
    const refused = await requestCode(b, uniquePhone(), ip);
    assert.equal(refused.status, 429);
    assert.ok(refused.headers.get('retry-after'));
  });

  test('a file uploaded via A is served, listed and deleted via B, and the feed on B shows it within 1 s', async () => {
    const auth = await signIn();
    const bytes = png(50_000);
    const creative = await upload(a, auth, bytes);
    await within(1000, async () => {
      const feed = (await (await call(b, '/scheduled', { headers: auth })).json()) as {
        scheduled_creatives: { today: { id: number }[] };
      };
      return feed.scheduled_creatives.today.some((c) => c.id === creative.id);
    });
    const served = await call(b, creative.creative_url);
    assert.equal(served.status, 200);
    // Stored is the image decoded and encoded again, losslessly: the same pixels.
    assert.deepEqual(
      await sharp(Buffer.from(await served.arrayBuffer()))
        .raw()
        .toBuffer(),
      await sharp(bytes).raw().toBuffer(),
    );
    const own = (await (await call(b, '/creatives', { headers: auth })).json()) as { creatives: { id: number }[] };
    assert.deepEqual(
      own.creatives.map((c) => c.id),
      [creative.id],
    );

    assert.equal((await call(b, `/creatives/${creative.id}`, { method: 'DELETE', headers: auth })).status, 204);
    assert.equal((await call(a, creative.creative_url)).status, 404);
    const objects = await moto.client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const name = creative.creative_url.split('/').pop()!;
    assert.deepEqual(
      (objects.Contents ?? []).filter((o) => o.Key!.includes(name.slice(0, 36))),
      [],
    );
  });

  test('a token logged out via A is refused via B within 1 s', async () => {
    const auth = await signIn();
    assert.equal((await call(b, '/me', { headers: auth })).status, 200);
    assert.equal((await call(a, '/logout', { method: 'POST', headers: auth })).status, 204);
    await within(1000, async () => (await call(b, '/me', { headers: auth })).status === 401);
  });

  test('through nginx: uploads stream to either instance, files and the feed come back from either', async () => {
    const auth = await signIn();
    const creatives = [await upload(nginx, auth), await upload(nginx, auth)];
    for (const creative of creatives) {
      for (let i = 0; i < 2; i++) assert.equal((await fetch(nginx.url + creative.creative_url)).status, 200);
    }
    const tooLarge = await fetch(`${nginx.url}/upload-creative`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'multipart/form-data; boundary=x' },
      body: Buffer.alloc(11 * 1024 * 1024),
    });
    assert.equal(tooLarge.status, 413);
    assert.equal(((await tooLarge.json()) as { code: string }).code, 'body_too_large');
  });

  test('SIGTERM to one instance while nginx keeps serving through the other loses no request', async () => {
    const auth = await signIn();
    const { creative_url: url } = await upload(nginx, auth);
    const form = uploadForm(png(200_000), today());
    // Reads of the feed and a file, and uploads, until A has exited and at least 200 are done.
    const requests: [string, () => Promise<Response>, number][] = [
      ['GET /scheduled', () => fetch(`${nginx.url}/scheduled`, { headers: auth }), 200],
      [`GET ${url}`, () => fetch(nginx.url + url), 200],
      [
        'POST /upload-creative',
        () => fetch(`${nginx.url}/upload-creative`, { method: 'POST', headers: { ...auth, ...form.headers }, body: form.body }),
        201,
      ],
    ];
    const failures: string[] = [];
    let done = 0;
    let aRunning = true;
    // An upload whose body nginx had begun to stream when A refused it cannot be passed on to B
    // (deploy/nginx/cheershare.conf says why): A's 503 service_unavailable reaches the client, which
    // may send it again, nothing having been stored. Any other answer, or a retry that fails, is lost.
    const attempt = async (send: () => Promise<Response>) => {
      const res = await send();
      const body = await res.text();
      const refusedByStopping = res.status === 503 && body.includes('"service_unavailable"');
      return { status: res.status, refusedByStopping };
    };
    const worker = async (n: number) => {
      while (aRunning || done < 200) {
        const [name, send, expected] = requests[(n + done) % requests.length]!;
        const status = await attempt(send).then(
          async (first) => (first.refusedByStopping && name.startsWith('POST') ? (await attempt(send)).status : first.status),
          (error: unknown) => String(error),
        );
        if (status !== expected) failures.push(`${name}: ${status}`);
        done++;
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, (_, n) => worker(n)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const code = await a.stop('SIGTERM');
    aRunning = false;
    await load;
    assert.equal(code, 0);
    assert.deepEqual(failures, []);
    assert.ok(done >= 200);
  });
});

describe('one local-storage box with nginx serving /uploads/ from UPLOAD_DIR (deploy/nginx/uploads-local.conf)', () => {
  let server: ServerProcess;
  let nginx: Nginx;
  let uploadDir: string;
  let dataDir: string;
  before(async () => {
    uploadDir = tempDir('cheershare-nginx-uploads-');
    dataDir = tempDir('cheershare-nginx-data-');
    server = await startServerProcess({ UPLOAD_DIR: uploadDir, DATA_DIR: dataDir, TRUST_PROXY: '1' });
    nginx = await startNginx({ upstreams: [server.port], uploadDir });
  });
  after(async () => {
    await nginx?.stop();
    await server?.stop();
    for (const dir of [uploadDir, dataDir]) rmSync(dir, { recursive: true, force: true });
  });

  test('a stored file comes from nginx with the headers and ETag Node gives it; anything else goes to the instance', async () => {
    const bytes = png(3000);
    const name = `${randomUUID()}.thumb.webp`;
    writeFileSync(join(uploadDir, name), bytes);
    const byNginx = await fetch(`${nginx.url}/uploads/${name}`);
    const byNode = await fetch(`${server.url}/uploads/${name}`);
    assert.equal(byNginx.status, 200);
    assert.deepEqual(Buffer.from(await byNginx.arrayBuffer()), bytes);
    for (const header of [
      'content-type',
      'content-security-policy',
      'x-content-type-options',
      'cache-control',
      'etag',
      'content-length',
    ]) {
      assert.equal(byNginx.headers.get(header), byNode.headers.get(header), header);
    }
    assert.equal(byNginx.headers.get('content-type'), 'image/webp');

    const range = await fetch(`${nginx.url}/uploads/${name}`, { headers: { range: 'bytes=0-9' } });
    assert.equal(range.status, 206);
    const etag = byNginx.headers.get('etag')!;
    assert.equal((await fetch(`${nginx.url}/uploads/${name}`, { headers: { 'if-none-match': etag } })).status, 304);

    for (const path of [`/uploads/${randomUUID()}.png`, '/uploads/', '/uploads', `/uploads/../${name}`]) {
      const res = await fetch(nginx.url + path);
      assert.equal(res.status, 404, path);
      assert.equal(((await res.json()) as { code: string }).code, 'not_found', path);
    }
  });
});
