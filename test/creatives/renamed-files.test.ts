import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backfillCreatives } from '../../src/creatives/backfill.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends } from '../support/backends.ts';
import { halves, sidewaysPhoneJpeg } from '../support/photos.ts';
import { createSignedInUser, type SignedInUser } from '../support/users.ts';

interface FileRow {
  creative_url: string;
  thumb_url: string | null;
  feed_url: string | null;
}

const nameOf = (url: string) => url.slice(url.lastIndexOf('/') + 1);

for (const backend of databaseBackends) {
  describe(`a renamed creative's old URLs on ${backend.name}`, () => {
    let t: TestApp;
    let asha: SignedInUser;
    before(async () => {
      t = await buildTestApp(backend, { APP_TIMEZONE: 'UTC' });
      asha = await createSignedInUser(t.deps.db, 'Asha');
    });
    after(() => t.close());

    /** A file and row as the original server left them: its client's extension, `./uploads/...`. */
    async function insertLikeTheOriginal(bytes: Buffer, extension: string): Promise<{ id: number; name: string }> {
      const name = `${randomUUID()}.${extension}`;
      writeFileSync(join(t.uploadDir, name), bytes);
      const { rows } = await t.deps.db.query<{ id: number }>(
        `INSERT INTO creatives (user_id, creative_url, scheduled_at) VALUES ($1, $2, CURRENT_DATE) RETURNING id`,
        [asha.user.id, `./uploads/${name}`],
      );
      return { id: rows[0]!.id, name };
    }
    const files = async (id: number) =>
      (await t.deps.db.query<FileRow>('SELECT creative_url, thumb_url, feed_url FROM creatives WHERE id = $1', [id])).rows[0]!;
    const get = (name: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') =>
      t.app.inject({ method, url: `/uploads/${name}`, headers });
    const backfill = () =>
      backfillCreatives({ db: t.deps.db, creatives: t.deps.creatives, images: t.deps.images, concurrency: 2 });

    test('after the backfill, GET and HEAD of the old name answer the new file with its headers, ETag and ranges', async () => {
      const photo = await insertLikeTheOriginal(await sidewaysPhoneJpeg(400, 200), 'JPG');
      const before = await get(photo.name);
      assert.equal(before.statusCode, 200, 'served under its old name before the backfill');

      const summary = await backfill();
      assert.equal(summary.done, 1);
      const now = await files(photo.id);
      assert.notEqual(nameOf(now.creative_url), photo.name, 'the backfill gave the file a new name');
      assert.ok(!existsSync(join(t.uploadDir, photo.name)), 'the unstripped bytes are gone from the disk');

      const current = await get(nameOf(now.creative_url));
      const old = await get(photo.name);
      assert.equal(old.statusCode, 200);
      assert.deepEqual(old.rawPayload, readFileSync(join(t.uploadDir, nameOf(now.creative_url))), 'the current bytes');
      for (const header of ['content-type', 'cache-control', 'content-security-policy', 'x-content-type-options', 'etag']) {
        assert.equal(old.headers[header], current.headers[header], header);
      }
      assert.equal(old.headers['cache-control'], 'public, max-age=31536000, immutable');

      const head = await get(photo.name, {}, 'HEAD');
      assert.equal(head.statusCode, 200);
      assert.equal(head.headers['content-length'], String(old.rawPayload.length));
      assert.equal(head.body, '');
      assert.equal((await get(photo.name, { 'if-none-match': String(current.headers.etag) })).statusCode, 304);
      const range = await get(photo.name, { range: 'bytes=0-9' });
      assert.equal(range.statusCode, 206);
      assert.deepEqual(range.rawPayload, old.rawPayload.subarray(0, 10));
    });

    test('renamed again (another pipeline reprocessing it), every name it ever had answers the newest file, variants too', async () => {
      const png = await insertLikeTheOriginal(await halves(300, 200).png().toBuffer(), 'jpeg');
      await backfill();
      const first = await files(png.id);
      // What any later pipeline does: new files under new names, then the row points at them.
      const stem = randomUUID();
      const renamed: FileRow = {
        creative_url: `/uploads/${stem}.png`,
        thumb_url: `/uploads/${stem}.thumb.webp`,
        feed_url: `/uploads/${stem}.feed.webp`,
      };
      for (const key of ['creative_url', 'thumb_url', 'feed_url'] as const) {
        copyFileSync(join(t.uploadDir, nameOf(first[key]!)), join(t.uploadDir, nameOf(renamed[key]!)));
      }
      await t.deps.db.query('UPDATE creatives SET creative_url = $2, thumb_url = $3, feed_url = $4 WHERE id = $1', [
        png.id,
        renamed.creative_url,
        renamed.thumb_url,
        renamed.feed_url,
      ]);
      for (const key of ['creative_url', 'thumb_url', 'feed_url'] as const) await t.deps.storage.delete(nameOf(first[key]!));

      for (const [old, now] of [
        [png.name, renamed.creative_url],
        [nameOf(first.creative_url), renamed.creative_url],
        [nameOf(first.thumb_url!), renamed.thumb_url!],
        [nameOf(first.feed_url!), renamed.feed_url!],
      ] as const) {
        const res = await get(old);
        assert.equal(res.statusCode, 200, old);
        assert.deepEqual(res.rawPayload, readFileSync(join(t.uploadDir, nameOf(now))), `${old} answers ${now}`);
      }
      assert.equal((await get(png.name)).headers['content-type'], 'image/png', 'the type of the file it names now');
    });

    test('a deleted creative takes its old names with it; a name no creative had is 404', async () => {
      const photo = await insertLikeTheOriginal(await halves(64, 32).png().toBuffer(), 'png');
      await backfill();
      assert.equal((await get(photo.name)).statusCode, 200);
      const res = await t.app.inject({ method: 'DELETE', url: `/creatives/${photo.id}`, headers: asha.headers });
      assert.equal(res.statusCode, 204);
      const { rows } = await t.deps.db.query('SELECT name FROM creative_file_aliases WHERE creative_id = $1', [photo.id]);
      assert.deepEqual(rows, []);
      const gone = await get(photo.name);
      assert.equal(gone.statusCode, 404);
      assert.equal(gone.json<{ code: string }>().code, 'not_found');
      assert.equal((await get(`${randomUUID()}.png`)).statusCode, 404);
    });
  });
}
