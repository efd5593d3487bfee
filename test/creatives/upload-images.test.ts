import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends } from '../support/backends.ts';
import { uploadForm, type MultipartBody } from '../support/multipart.ts';
import {
  animatedGif,
  BLUE,
  halves,
  near,
  pixelAt,
  pngDeclaring,
  pngWithText,
  RED,
  SECRET,
  sidewaysPhoneJpeg,
} from '../support/photos.ts';
import { createSignedInUser, type SignedInUser } from '../support/users.ts';

const MAX_IMAGE_PIXELS = 2_000_000;
const today = () => new Date().toISOString().slice(0, 10);
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

interface CreativeJson {
  id: number;
  creative_url: string;
  content_type: string;
  size_bytes: number;
  width: number | null;
  height: number | null;
  variants: { thumb: string; feed: string } | null;
  placeholder: string | null;
}

for (const backend of databaseBackends) {
  describe(`uploaded images on ${backend.name}`, () => {
    let t: TestApp;
    let asha: SignedInUser;
    before(async () => {
      t = await buildTestApp(backend, {
        APP_TIMEZONE: 'UTC',
        MAX_IMAGE_PIXELS: String(MAX_IMAGE_PIXELS),
        IMAGE_CONCURRENCY: '1',
      });
      asha = await createSignedInUser(t.deps.db, 'Asha');
    });
    after(() => t.close());

    const upload = (form: MultipartBody, as: SignedInUser = asha) =>
      t.app.inject({
        method: 'POST',
        url: '/upload-creative',
        headers: { ...form.headers, ...as.headers },
        payload: form.body,
      });
    const uploadImage = (bytes: Buffer, as?: SignedInUser) =>
      upload(uploadForm(bytes, today(), { filename: 'photo.jpg', contentType: 'image/jpeg' }), as);
    const fetchFile = async (url: string) => {
      const res = await t.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      return res.rawPayload;
    };
    const listing = () => readdirSync(t.uploadDir).sort();
    const rowCount = async () => (await t.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM creatives')).rows[0]!.n;

    async function uploaded(bytes: Buffer): Promise<CreativeJson> {
      const res = await uploadImage(bytes);
      assert.equal(res.statusCode, 201, res.body);
      return res.json<{ creative: CreativeJson }>().creative;
    }

    async function assertRefused(bytes: Buffer, status: number, code: string) {
      const filesBefore = listing();
      const rowsBefore = await rowCount();
      const res = await uploadImage(bytes);
      assert.equal(res.statusCode, status, res.body);
      assert.equal(res.json().code, code);
      assert.deepEqual(listing(), filesBefore, 'no file was kept');
      assert.equal(await rowCount(), rowsBefore, 'no row was added');
    }

    test('a sideways phone JPEG with GPS: its pixels as sent, EXIF the Orientation alone, shown upright, with variants and a placeholder', async () => {
      const photo = await sidewaysPhoneJpeg(1600, 800);
      const creative = await uploaded(photo);
      const [, uuid] = new RegExp(`^/uploads/(${UUID})\\.jpg$`).exec(creative.creative_url) ?? assert.fail(creative.creative_url);
      assert.deepEqual(
        { width: creative.width, height: creative.height, variants: creative.variants, content_type: creative.content_type },
        {
          width: 800,
          height: 1600,
          variants: { thumb: `/uploads/${uuid}.thumb.webp`, feed: `/uploads/${uuid}.feed.webp` },
          content_type: 'image/jpeg',
        },
      );
      assert.match(creative.placeholder ?? '', /^[A-Za-z0-9+/]+=*$/);
      const original = await fetchFile(creative.creative_url);
      assert.equal(creative.size_bytes, original.length, 'size_bytes is what is stored');
      assert.deepEqual(await sharp(original).raw().toBuffer(), await sharp(photo).raw().toBuffer(), 'the pixels as sent');
      assert.deepEqual(
        [(await sharp(original).metadata()).orientation, (await sharp(original).metadata()).exif?.length],
        [6, 32],
      );
      for (const [url, width] of [
        [creative.creative_url, 800],
        [creative.variants!.thumb, 320],
        [creative.variants!.feed, 800],
      ] as const) {
        const bytes = await fetchFile(url);
        assert.ok(!bytes.includes('PhoneMaker') && !bytes.includes('GPS'), `${url} names no camera and no place`);
        // As a browser shows it: EXIF orientation applied.
        const shown = await sharp(bytes).rotate().png().toBuffer();
        const metadata = await sharp(shown).metadata();
        assert.equal(metadata.width, width, url);
        assert.ok(near(await pixelAt(shown, width / 2, metadata.height / 4), RED), `${url}: red on top`);
        assert.ok(near(await pixelAt(shown, width / 2, (metadata.height * 3) / 4), BLUE), `${url}: blue below`);
      }
      const variantResponse = await t.app.inject({ method: 'GET', url: creative.variants!.thumb });
      assert.equal(variantResponse.headers['content-type'], 'image/webp');
      assert.equal(variantResponse.headers['cache-control'], 'public, max-age=31536000, immutable');
      // The row says the same as the answer, and the feed shows it.
      const scheduled = await t.app.inject({ method: 'GET', url: '/scheduled?tz=UTC', headers: asha.headers });
      const shown = scheduled
        .json<{ scheduled_creatives: { today: CreativeJson[] } }>()
        .scheduled_creatives.today.find((c) => c.id === creative.id);
      assert.deepEqual(shown, creative);
    });

    test('a truncated JPEG and a JPEG-header polyglot are 415 and leave nothing; the 415 says why in our words', async () => {
      const photo = await sidewaysPhoneJpeg(400, 200);
      await assertRefused(photo.subarray(0, Math.floor(photo.length * 0.6)), 415, 'unsupported_media_type');
      const res = await uploadImage(photo.subarray(0, Math.floor(photo.length * 0.6)));
      assert.equal(res.json().error, 'the image is truncated');
      // Whole in structure, but its Huffman table is zeros: libvips' words stay out of the answer.
      const undecodable = await halves(256, 256).jpeg().toBuffer();
      const table = undecodable.indexOf(Buffer.from([0xff, 0xc4]));
      undecodable.fill(0, table + 5, table + 21);
      await assertRefused(undecodable, 415, 'unsupported_media_type');
      assert.deepEqual((await uploadImage(undecodable)).json(), {
        error: 'the image does not decode',
        code: 'unsupported_media_type',
        field: 'file',
      });
      const polyglot = Buffer.concat([photo.subarray(0, 20), Buffer.from('<html><script>alert(1)</script></html>\n'.repeat(50))]);
      await assertRefused(polyglot, 415, 'unsupported_media_type');
    });

    test('a tiny PNG declaring 20000×20000 is 413 image_too_large; MAX_IMAGE_PIXELS itself is accepted', async () => {
      await assertRefused(pngDeclaring(20_000, 20_000), 413, 'image_too_large');
      await assertRefused(await halves(2000, 1001).png().toBuffer(), 413, 'image_too_large');
      const edge = await uploaded(await halves(2000, 1000).png().toBuffer());
      assert.deepEqual([edge.width, edge.height], [2000, 1000]);
    });

    test('an animated GIF keeps its frames; its variants are its first frame', async () => {
      const creative = await uploaded(await animatedGif());
      assert.equal((await sharp(await fetchFile(creative.creative_url)).metadata()).pages, 3);
      const thumb = await fetchFile(creative.variants!.thumb);
      assert.equal((await sharp(thumb).metadata()).pages, undefined);
      assert.ok(near(await pixelAt(thumb, 15, 15), RED));
    });

    test('a PNG keeps no text chunk', async () => {
      const creative = await uploaded(await pngWithText());
      assert.ok(!(await fetchFile(creative.creative_url)).includes(SECRET));
    });

    test('uploads wait their turn for IMAGE_CONCURRENCY=1 and all succeed', async () => {
      const photo = await halves(1200, 800).jpeg().toBuffer();
      let most = 0;
      let queued = 0;
      const slots = t.deps.creatives.images.slots;
      const { admission } = t.deps.creatives;
      const watching = setInterval(() => {
        most = Math.max(most, slots.activeCount);
        queued = Math.max(queued, admission.imagesWaiting);
      }, 1);
      // Two people, two uploads each: UPLOADS_IN_FLIGHT_PER_USER (2) lets all four in at once.
      const ravi = await createSignedInUser(t.deps.db, 'Ravi');
      const answers = await Promise.all([asha, asha, ravi, ravi].map((person) => uploadImage(photo, person)));
      clearInterval(watching);
      assert.deepEqual(
        answers.map((res) => res.statusCode),
        [201, 201, 201, 201],
      );
      assert.equal(most, 1, 'never two images at once');
      assert.ok(queued > 0, 'some waited');
    });

    test('deleting a creative removes its original and both variants', async () => {
      const creative = await uploaded(await halves(400, 200).jpeg().toBuffer());
      const names = [creative.creative_url, creative.variants!.thumb, creative.variants!.feed].map((url) =>
        url.slice('/uploads/'.length),
      );
      for (const name of names) assert.ok(listing().includes(name), name);
      const res = await t.app.inject({ method: 'DELETE', url: `/creatives/${creative.id}`, headers: asha.headers });
      assert.equal(res.statusCode, 204);
      for (const name of names) assert.ok(!listing().includes(name), `${name} is gone`);
    });

    test('/meta gives the pixel limit and the variant widths', async () => {
      const meta = (await t.app.inject({ method: 'GET', url: '/meta' })).json();
      assert.equal(meta.max_image_pixels, MAX_IMAGE_PIXELS);
      assert.deepEqual(meta.variants, { thumb: 320, feed: 1080 });
    });

    test('a variant name that is not stored is 404', async () => {
      const creative = await uploaded(await halves(400, 200).jpeg().toBuffer());
      const stem = creative.creative_url.slice(0, -'.jpg'.length);
      for (const url of [`${stem}.small.webp`, `${stem}.thumb.png`, `${stem}.thumb.webp.jpg`]) {
        assert.equal((await t.app.inject({ method: 'GET', url })).statusCode, 404, url);
      }
      assert.equal(
        readFileSync(join(t.uploadDir, `${stem.slice('/uploads/'.length)}.thumb.webp`))
          .subarray(8, 12)
          .toString(),
        'WEBP',
      );
    });
  });
}
