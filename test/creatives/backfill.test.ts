import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { backfillCreatives, type BackfillSummary, type RowOutcome } from '../../src/creatives/backfill.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends } from '../support/backends.ts';
import { uploadForm } from '../support/multipart.ts';
import { BLUE, halves, near, pixelAt, RED, sidewaysPhoneJpeg } from '../support/photos.ts';
import { createSignedInUser, type SignedInUser } from '../support/users.ts';

interface Row {
  id: number;
  creative_url: string;
  content_type: string | null;
  size_bytes: number | null;
  width: number | null;
  height: number | null;
  thumb_url: string | null;
  feed_url: string | null;
  placeholder: string | null;
}

for (const backend of databaseBackends) {
  describe(`creatives:backfill on ${backend.name}`, () => {
    let t: TestApp;
    let asha: SignedInUser;
    before(async () => {
      t = await buildTestApp(backend, { APP_TIMEZONE: 'UTC' });
      asha = await createSignedInUser(t.deps.db, 'Asha');
    });
    after(() => t.close());

    /** A row as the original server inserted it: no type, no size, its file named after the client's. */
    async function insertLikeTheOriginal(
      bytes: Buffer | undefined,
      extension: string,
      urlPrefix = '/uploads/',
    ): Promise<{ id: number; name: string }> {
      const name = `${randomUUID()}.${extension}`;
      if (bytes) writeFileSync(join(t.uploadDir, name), bytes);
      const { rows } = await t.deps.db.query<{ id: number }>(
        `INSERT INTO creatives (user_id, creative_url, scheduled_at) VALUES ($1, $2, CURRENT_DATE) RETURNING id`,
        [asha.user.id, urlPrefix + name],
      );
      return { id: rows[0]!.id, name };
    }

    const row = async (id: number) =>
      (
        await t.deps.db.query<Row>(
          'SELECT id, creative_url, content_type, size_bytes, width, height, thumb_url, feed_url, placeholder FROM creatives WHERE id = $1',
          [id],
        )
      ).rows[0]!;
    const file = (url: string) => readFileSync(join(t.uploadDir, url.replace(/^\.?\/uploads\//, '')));
    const backfill = (onRow?: (outcome: RowOutcome) => void): Promise<BackfillSummary> =>
      backfillCreatives({
        db: t.deps.db,
        creatives: t.deps.creatives.service,
        images: t.deps.creatives.images,
        concurrency: 2,
        batchSize: 2,
        onRow,
      });

    test('older rows get variants, dimensions, a placeholder and a stripped original; failures are kept; a second run does nothing', async () => {
      const sidewaysBytes = await sidewaysPhoneJpeg(800, 400);
      const sideways = await insertLikeTheOriginal(sidewaysBytes, 'JPG');
      const dotted = await insertLikeTheOriginal(await halves(300, 200).png().toBuffer(), 'jpeg', './uploads/');
      const missing = await insertLikeTheOriginal(undefined, 'png');
      const garbage = Buffer.from('not an image at all, though named like one');
      const broken = await insertLikeTheOriginal(garbage, 'jpg');
      const form = uploadForm(await halves(64, 32).png().toBuffer(), new Date().toISOString().slice(0, 10));
      const res = await t.app.inject({
        method: 'POST',
        url: '/upload-creative',
        headers: { ...form.headers, ...asha.headers },
        payload: form.body,
      });
      assert.equal(res.statusCode, 201, res.body);
      const fresh = await row(res.json<{ creative: { id: number } }>().creative.id);

      const outcomes: RowOutcome[] = [];
      const first = await backfill((outcome) => outcomes.push(outcome));
      assert.equal(first.total, 4);
      assert.equal(first.done, 2);
      assert.deepEqual(
        first.failed.map((failure) => [failure.id, failure.reason]),
        [
          [missing.id, 'the file is missing'],
          [broken.id, first.failed[1]!.reason],
        ],
      );
      assert.equal(first.failed[1]!.reason, 'the file is not a JPEG, PNG, GIF or WebP image');
      assert.equal(outcomes.length, 4, 'progress for every row');

      const upright = await row(sideways.id);
      assert.match(upright.creative_url, /^\/uploads\/[0-9a-f-]{36}\.jpg$/);
      assert.deepEqual([upright.width, upright.height, upright.content_type], [400, 800, 'image/jpeg']);
      const stripped = file(upright.creative_url);
      assert.equal(upright.size_bytes, stripped.length);
      const metadata = await sharp(stripped).metadata();
      assert.deepEqual([metadata.orientation, metadata.exif?.length], [6, 32], 'EXIF holds the Orientation alone');
      assert.ok(!stripped.includes('PhoneMaker') && !stripped.includes('GPS'), 'no camera, no position');
      assert.deepEqual(await sharp(stripped).raw().toBuffer(), await sharp(sidewaysBytes).raw().toBuffer(), 'the same pixels');
      const shown = await sharp(stripped).rotate().png().toBuffer();
      assert.ok(near(await pixelAt(shown, 200, 100), RED) && near(await pixelAt(shown, 200, 700), BLUE), 'upright');
      assert.equal(upright.thumb_url, upright.creative_url.replace(/\.jpg$/, '.thumb.webp'));
      assert.equal((await sharp(file(upright.thumb_url)).metadata()).width, 320);
      assert.equal((await sharp(file(upright.feed_url!)).metadata()).width, 400);
      assert.ok(!existsSync(join(t.uploadDir, sideways.name)), 'the unstripped original is removed');

      // A PNG the original stored as .jpeg: its real type decides its new name.
      const png = await row(dotted.id);
      assert.match(png.creative_url, /\.png$/);
      assert.deepEqual([png.width, png.height, png.content_type], [300, 200, 'image/png']);

      // Failures are left exactly as they were.
      assert.equal((await row(missing.id)).width, null);
      assert.deepEqual(file(`/uploads/${broken.name}`), garbage);
      assert.equal((await row(broken.id)).creative_url, `/uploads/${broken.name}`);
      assert.deepEqual(await row(fresh.id), fresh, 'an upload made with variants is not touched');

      const filesAfterFirst = readdirSync(t.uploadDir).sort();
      const second = await backfill();
      assert.deepEqual(
        { total: second.total, done: second.done, failed: second.failed.length },
        { total: 2, done: 0, failed: 2 },
      );
      assert.deepEqual(readdirSync(t.uploadDir).sort(), filesAfterFirst, 'the second run changed no file');
      assert.deepEqual(await row(sideways.id), upright);

      // Resumable: once the missing file is there, the next run does that row alone.
      writeFileSync(join(t.uploadDir, missing.name), await halves(100, 50).gif().toBuffer());
      const third = await backfill();
      assert.deepEqual(
        { total: third.total, done: third.done, failed: third.failed.map((f) => f.id) },
        { total: 2, done: 1, failed: [broken.id] },
      );
      assert.deepEqual([(await row(missing.id)).width, (await row(missing.id)).content_type], [100, 'image/gif']);
    });
  });
}
