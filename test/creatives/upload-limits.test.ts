import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends } from '../support/backends.ts';
import { png } from '../support/images.ts';
import { uploadForm } from '../support/multipart.ts';
import { createSignedInUser, type SignedInUser } from '../support/users.ts';

const HOUR_MS = 3_600_000;
const QUOTA = 1_000_000;
const tomorrow = () => new Date(Date.now() + 24 * HOUR_MS).toISOString().slice(0, 10);

for (const backend of databaseBackends) {
  describe(`upload limits on ${backend.name}`, () => {
    let t: TestApp;
    let clock = Date.now();
    before(async () => {
      t = await buildTestApp(
        backend,
        { UPLOADS_PER_USER_PER_HOUR: '3', USER_QUOTA_BYTES: String(QUOTA), MIN_FREE_DISK_BYTES: '1' },
        { now: () => clock, cacheTtlMs: 0 },
      );
    });
    after(() => t.close());

    const upload = (user: SignedInUser, size = 0) => {
      const form = uploadForm(png(size), tomorrow());
      return t.app.inject({
        method: 'POST',
        url: '/upload-creative',
        headers: { ...form.headers, ...user.headers },
        payload: form.body,
      });
    };
    const countRows = async (user: SignedInUser) =>
      (await t.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM creatives WHERE user_id = $1', [user.user.id]))
        .rows[0]!.n;
    /** A creative row of `size` bytes, as if uploaded earlier (no file). */
    const storedEarlier = async (user: SignedInUser, size: number) =>
      (
        await t.deps.db.query<{ id: number }>(
          `INSERT INTO creatives (user_id, creative_url, scheduled_at, content_type, size_bytes)
           VALUES ($1, $2, $3, 'image/png', $4) RETURNING id::int AS id`,
          [user.user.id, `/uploads/${randomUUID()}.png`, tomorrow(), size],
        )
      ).rows[0]!.id;

    test('UPLOADS_PER_USER_PER_HOUR: the fourth upload → 429 with Retry-After until the first leaves the hour; a refused upload counts toward nothing', async () => {
      const user = await createSignedInUser(t.deps.db);
      const other = await createSignedInUser(t.deps.db);
      assert.equal((await upload(user)).statusCode, 201);
      clock += 60_000;
      assert.equal((await upload(user)).statusCode, 201);
      // Refused by the quota (a row already fills it): counts toward neither limit.
      const filler = await storedEarlier(user, QUOTA);
      const refused = await upload(user);
      assert.equal(refused.statusCode, 413);
      assert.equal(refused.json().code, 'quota_exceeded');
      await t.deps.db.query('DELETE FROM creatives WHERE id = $1', [filler]);
      const third = await upload(user);
      assert.equal(third.statusCode, 201);
      const limited = await upload(user);
      assert.equal(limited.statusCode, 429);
      assert.equal(limited.json().code, 'rate_limited');
      assert.equal(limited.headers['retry-after'], String(3600 - 60));
      // Deleting a creative frees quota, not the hourly allowance.
      const { id } = third.json().creative;
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/creatives/${id}`, headers: user.headers })).statusCode, 204);
      assert.equal((await upload(user)).statusCode, 429);
      assert.equal(await countRows(user), 2);
      // Someone else is not affected.
      assert.equal((await upload(other)).statusCode, 201);
      clock += HOUR_MS - 60_000 - 1;
      assert.equal((await upload(user)).headers['retry-after'], '1');
      clock += 1;
      assert.equal((await upload(user)).statusCode, 201);
    });

    test('USER_QUOTA_BYTES at its exact edge, and a delete that frees room', async () => {
      const user = await createSignedInUser(t.deps.db);
      const first = await upload(user, 2_000);
      assert.equal(first.statusCode, 201);
      const size: number = first.json().creative.size_bytes;
      // Stored so far: `size` plus a row that leaves exactly one byte too little for another such file.
      const filler = await storedEarlier(user, QUOTA - 2 * size + 1);
      const files = readdirSync(t.uploadDir).length;
      const over = await upload(user, 2_000);
      assert.equal(over.statusCode, 413);
      assert.equal(over.json().code, 'quota_exceeded');
      assert.equal(readdirSync(t.uploadDir).length, files, 'nothing of the refused upload stays');
      await t.deps.db.query('UPDATE creatives SET size_bytes = size_bytes - 1 WHERE id = $1', [filler]);
      const exact = await upload(user, 2_000);
      assert.equal(exact.statusCode, 201, 'a file that fills the quota exactly fits');
      // Full: even the smallest file is refused before its body is read.
      assert.equal((await upload(user)).statusCode, 413);
      const deleted = await t.app.inject({
        method: 'DELETE',
        url: `/creatives/${first.json().creative.id}`,
        headers: user.headers,
      });
      assert.equal(deleted.statusCode, 204);
      clock += HOUR_MS;
      assert.equal((await upload(user, 2_000)).statusCode, 201, 'the delete freed room');
    });
  });
}

describe('MIN_FREE_DISK_BYTES', () => {
  test('less free space than that on local storage → 507 insufficient_storage, nothing stored', async () => {
    const probe = await statfs('/tmp');
    const free = probe.bavail * probe.bsize;
    const t = await buildTestApp(databaseBackends[0]!, { MIN_FREE_DISK_BYTES: String(free + 1024 ** 4) });
    try {
      const user = await createSignedInUser(t.deps.db);
      const form = uploadForm(png(), tomorrow());
      const response = await t.app.inject({
        method: 'POST',
        url: '/upload-creative',
        headers: { ...form.headers, ...user.headers },
        payload: form.body,
      });
      assert.equal(response.statusCode, 507);
      assert.equal(response.json().code, 'insufficient_storage');
      assert.equal((await t.deps.db.query('SELECT 1 FROM creatives')).rowCount, 0);
      assert.deepEqual(readdirSync(t.uploadDir), []);
    } finally {
      await t.close();
    }
  });
});
