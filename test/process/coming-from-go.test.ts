import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Database } from '../../src/platform/db/database.ts';
import { databaseBackends, tempDir, type TestDatabase } from '../support/backends.ts';
import { halves, sidewaysPhoneJpeg } from '../support/photos.ts';
import { readmeBlocks, runShell } from '../support/readme.ts';
import { killStrayProcesses, ROOT, startServerProcess, type ServerProcess } from '../support/server-process.ts';

after(killStrayProcesses);

/** The original's token: 16 random bytes in unpadded RFC 4648 base32; the database keeps its SHA-256. */
function originalToken(): { plaintext: string; hash: Buffer } {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const byte of randomBytes(16)) bits += byte.toString(2).padStart(8, '0');
  let plaintext = '';
  for (let i = 0; i < bits.length; i += 5) plaintext += alphabet[parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)];
  return { plaintext, hash: createHash('sha256').update(plaintext).digest() };
}

interface OriginalUser {
  id: number;
  national: string;
  token: string;
}
interface OriginalFile {
  name: string;
  bytes: Buffer;
}

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

/** The database as the original left it: its three migrations, golang-migrate's version table at 3, its rows. */
async function buildOriginalDatabase(db: Database, files: OriginalFile[]): Promise<OriginalUser[]> {
  for (const file of ['000001_create-user-table', '000002_create-token-table', '000003_create-creative']) {
    await db.exec(readFileSync(join(ROOT, 'migrations', `${file}.up.sql`), 'utf8'));
  }
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
    INSERT INTO schema_migrations (version, dirty) VALUES (3, false);`);
  const users: OriginalUser[] = [];
  for (const [name, national] of [
    ['Asha', '9876543210'],
    ['Ravi', '9123456789'],
  ] as const) {
    const { rows } = await db.query<{ id: number }>('INSERT INTO users (name, phone_number) VALUES ($1, $2) RETURNING id', [
      name,
      national,
    ]);
    const token = originalToken();
    await db.query(
      "INSERT INTO tokens (hash, user_id, expiry, scope) VALUES ($1, $2, now() + interval '48 hours', 'authentication')",
      [token.hash, rows[0]!.id],
    );
    users.push({ id: rows[0]!.id, national, token: token.plaintext });
  }
  for (const [i, file] of files.entries()) {
    await db.query('INSERT INTO creatives (user_id, creative_url, scheduled_at) VALUES ($1, $2, $3)', [
      users[i % users.length]!.id,
      `./uploads/${file.name}`,
      day(i % 2),
    ]);
  }
  return users;
}

/** Files as the original stored them: `<uuid>` plus the extension of the client's file name, whatever the content. */
async function originalFiles(uploads: string): Promise<OriginalFile[]> {
  mkdirSync(uploads, { recursive: true });
  const files = [
    { name: `${randomUUID()}.JPG`, bytes: await sidewaysPhoneJpeg(400, 200) },
    { name: `${randomUUID()}.jpeg`, bytes: await halves(120, 80).png().toBuffer() },
    { name: `${randomUUID()}.png`, bytes: await halves(64, 32).png().toBuffer() },
  ];
  for (const file of files) writeFileSync(join(uploads, file.name), file.bytes);
  return files;
}

for (const backend of databaseBackends.filter((b) => b.name === 'postgres')) {
  describe("the README's guide from the Go original, on PostgreSQL", { timeout: 600_000 }, () => {
    const home = tempDir('cheershare-operator-home-');
    const originalDir = tempDir('cheershare-original-');
    let database: TestDatabase;
    let users: OriginalUser[];
    let files: OriginalFile[];
    let server: ServerProcess | undefined;
    const guide = readmeBlocks('migrate');
    const backfillStep = guide.findIndex((block) => block.includes('creatives:backfill'));
    // Step 1's exports hold for every later step, as in the reader's shell.
    const run = (blocks: string[]) =>
      runShell([guide[0]!, ...blocks].join('\n'), {
        HOME: home,
        GREENLIGHT_DB_DSN: database.env.DATABASE_URL!,
        ORIGINAL_DIR: originalDir,
      });

    after(async () => {
      await server?.stop();
      await database?.drop();
      for (const dir of [home, originalDir]) rmSync(dir, { recursive: true, force: true });
    });

    const api = (path: string, init: RequestInit = {}) => fetch(`${server!.url}${path}`, init);
    const signup = (body: object) =>
      api('/signup', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    async function startServer(): Promise<void> {
      server = await startServerProcess({
        DATABASE_URL: database.env.DATABASE_URL!,
        UPLOAD_DIR: join(originalDir, 'uploads'),
        OTP_RESEND_SECONDS: '1',
      });
    }

    /** Signs in by `phone_number` with the code the console provider logged; the answer's body. */
    async function signIn(phone: string): Promise<Record<string, unknown>> {
      const requested = await signup({ name: 'Someone else', phone_number: phone });
      assert.deepEqual(await requested.json(), { success: true, message: 'OTP sent successfully' });
      const line = await server!.waitForLog(
        (entry) => (entry.sms as { to?: string } | undefined)?.to === `+91${phone.slice(-10)}` && !entry.used,
      );
      line.used = true;
      const code = /\d{6}/.exec((line.sms as { message: string }).message)![0];
      const verified = await signup({ phone_number: phone, otp: code });
      assert.equal(verified.status, 200);
      return (await verified.json()) as Record<string, unknown>;
    }

    async function everyOldUrlServes(expect: (file: OriginalFile, body: Buffer) => Promise<void>): Promise<void> {
      for (const file of files) {
        for (const method of ['GET', 'HEAD']) {
          const res = await api(`/uploads/${file.name}`, { method });
          assert.equal(res.status, 200, `${method} /uploads/${file.name}`);
          assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
          if (method === 'GET') await expect(file, Buffer.from(await res.arrayBuffer()));
        }
      }
    }

    test('steps 1 to 4 back up, show version 3 and migrate; the original state was made its way', async () => {
      database = await backend.create();
      files = await originalFiles(join(originalDir, 'uploads'));
      const db = await database.open();
      try {
        users = await buildOriginalDatabase(db, files);
      } finally {
        await db.close();
      }
      assert.match(guide[0]!, /^export DATABASE_URL=.*\nexport UPLOAD_DIR=/);
      assert.ok(backfillStep > 1, 'the guide has a backfill step');
      const result = await run(guide.slice(1, backfillStep));
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^version 3 on PostgreSQL$/m);
      assert.match(result.stdout, /^pending {2}000004_/m);
      assert.match(result.stdout, /^applied 000011_creative-file-aliases$/m);
      assert.ok(statSync(join(home, 'cheershare-backup', 'database.dump')).size > 0, 'a database dump');
      for (const file of files) assert.ok(existsSync(join(home, 'cheershare-backup', 'uploads', file.name)), file.name);
    });

    test('step 5: every old token signs in, every old number finds its account in both forms, every old URL serves', async () => {
      await startServer();
      for (const user of users) {
        const me = await api('/me', { headers: { authorization: `Bearer ${user.token}` } });
        assert.equal(me.status, 200, "the original's token");
        assert.equal(((await me.json()) as { user: { id: number } }).user.id, user.id);
        for (const form of [user.national, `+91${user.national}`]) {
          const body = await signIn(form);
          assert.deepEqual(Object.keys(body).sort(), ['data', 'expiry', 'message', 'success', 'token']);
          const data = body.data as Record<string, unknown>;
          assert.deepEqual(Object.keys(data).sort(), ['created_at', 'id', 'name', 'phone_number', 'version']);
          assert.equal(data.id, user.id, `${form} finds the original's account`);
          assert.equal(data.phone_number, `+91${user.national}`);
          await new Promise((resolve) => setTimeout(resolve, 1_100)); // OTP_RESEND_SECONDS=1 before the next form
        }
      }
      await everyOldUrlServes(async (file, body) => assert.deepEqual(body, file.bytes, 'the bytes the original stored'));

      const scheduled = await api('/scheduled', { headers: { authorization: `Bearer ${users[0]!.token}` } });
      assert.equal(scheduled.status, 200);
      const feed = ((await scheduled.json()) as { scheduled_creatives: Record<string, Record<string, unknown>[]> })
        .scheduled_creatives;
      assert.deepEqual(Object.keys(feed).sort(), ['today', 'tomorrow']);
      const listed = [...feed.today!, ...feed.tomorrow!];
      assert.equal(listed.length, files.length);
      for (const creative of listed) {
        for (const key of ['id', 'creative_url', 'scheduled_at', 'created_at']) assert.ok(key in creative, key);
        assert.ok(!('user_id' in creative), 'the uploader stays hidden, as in the original');
      }
      assert.deepEqual(listed.map((c) => c.creative_url).sort(), files.map((f) => `/uploads/${f.name}`).sort());
    });

    test('step 6: the backfill renames and strips every file; every old URL still serves, now the stripped image', async () => {
      const result = await run(guide.slice(backfillStep, backfillStep + 1));
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /3 done, 0 failed/);
      for (const file of files) assert.ok(!existsSync(join(originalDir, 'uploads', file.name)), 'the unstripped file is gone');
      const db = await database.open();
      let now: Map<string, string>;
      try {
        const { rows } = await db.query<{ name: string; url: string }>(
          'SELECT a.name, c.creative_url AS url FROM creative_file_aliases a JOIN creatives c ON c.id = a.creative_id',
        );
        now = new Map(rows.map((row) => [row.name, row.url]));
      } finally {
        await db.close();
      }
      await everyOldUrlServes(async (file, body) => {
        const current = now.get(file.name)!;
        assert.match(current, /^\/uploads\/[0-9a-f-]{36}\.(jpg|png)$/, 'renamed after its real type');
        assert.deepEqual(body, readFileSync(join(originalDir, 'uploads', current.slice('/uploads/'.length))), 'its current file');
      });
      assert.notDeepEqual(readFileSync(join(originalDir, 'uploads', now.get(files[0]!.name)!.slice(9))), files[0]!.bytes);
      for (const user of users) {
        assert.equal((await api('/me', { headers: { authorization: `Bearer ${user.token}` } })).status, 200);
      }
    });

    test("rolling back: down to the original's version 3 and its tables, tokens still there", async () => {
      assert.equal(await server!.stop(), 0);
      server = undefined;
      const result = await run(readmeBlocks('rollback'));
      assert.equal(result.code, 0, result.stderr);
      const db = await database.open();
      try {
        const { rows: version } = await db.query('SELECT version, dirty FROM schema_migrations');
        assert.deepEqual(version, [{ version: 3, dirty: false }]);
        const { rows: tables } = await db.query<{ table_name: string }>(
          "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
        );
        assert.deepEqual(
          tables.map((t) => t.table_name),
          ['creatives', 'schema_migrations', 'tokens', 'users'],
        );
        const { rows: urls } = await db.query<{ creative_url: string }>('SELECT creative_url FROM creatives');
        for (const { creative_url } of urls) assert.match(creative_url, /^\.\/uploads\/[0-9a-f-]{36}\.(jpg|png)$/);
        const { rows: tokens } = await db.query<{ n: string }>('SELECT count(*) AS n FROM tokens');
        assert.equal(Number(tokens[0]!.n), users.length + 4, "the original's tokens and those signed in since");
      } finally {
        await db.close();
      }
    });
  });
}
