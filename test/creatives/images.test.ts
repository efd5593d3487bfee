import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { thumbHashToAverageRGBA } from 'thumbhash';
import type { ProcessedImage } from '../../src/creatives/images.ts';
import { imageProcessing, original } from '../support/process-image.ts';
import {
  animatedGif,
  BLUE,
  GREEN,
  halves,
  near,
  pixelAt,
  pngDeclaring,
  pngWithText,
  RED,
  SECRET,
  sidewaysPhoneJpeg,
  webpWithMetadata,
} from '../support/photos.ts';

const { accepted, refused } = imageProcessing();

/** Every stored output: the original and each variant. */
const outputs = (image: ProcessedImage) => [original(image), image.variants.thumb, image.variants.feed];

/** No metadata; an `orientation` other than 1 is all EXIF may still say. */
async function assertNoMetadata(image: Buffer, orientation?: number): Promise<void> {
  const metadata = await sharp(image).metadata();
  assert.equal(metadata.xmp, undefined, 'no XMP');
  assert.equal(metadata.iptc, undefined, 'no IPTC');
  assert.equal(metadata.comments, undefined, 'no comments');
  assert.equal(metadata.orientation, orientation, 'no orientation but the one to apply');
  if (orientation === undefined) assert.equal(metadata.exif, undefined, 'no EXIF');
  else assert.equal(metadata.exif?.length, 32, 'an EXIF block of the Orientation alone');
  const bytes = image.toString('latin1');
  for (const marker of ['GPS', 'PhoneMaker', SECRET, 'tEXt', 'iTXt', 'zTXt', 'XMP ', 'EXIF']) {
    assert.ok(!bytes.includes(marker), `"${marker}" is not in the bytes`);
  }
}

const dimensions = async (image: Buffer) => {
  const { width, height } = await sharp(image).metadata();
  return { width, height };
};

describe('processImage', () => {
  test('a sideways phone JPEG keeps its pixels and only its Orientation, without GPS; displayed upright', async () => {
    const photo = await sidewaysPhoneJpeg(1600, 800);
    assert.equal((await sharp(photo).metadata()).orientation, 6, 'the input does carry Orientation 6');
    const image = await accepted(photo);
    assert.equal(image.type.mime, 'image/jpeg');
    assert.deepEqual({ width: image.width, height: image.height }, { width: 800, height: 1600 });
    assert.deepEqual(await dimensions(original(image)), { width: 1600, height: 800 }, 'stored as sent');
    assert.deepEqual(await sharp(original(image)).raw().toBuffer(), await sharp(photo).raw().toBuffer(), 'the same pixels');
    await assertNoMetadata(original(image), 6);
    assert.deepEqual(await dimensions(image.variants.thumb), { width: 320, height: 640 });
    assert.deepEqual(await dimensions(image.variants.feed), { width: 800, height: 1600 }, 'feed is not enlarged');
    // As a browser shows them (EXIF orientation applied): turned clockwise, the left (red) half is on top.
    for (const output of outputs(image)) {
      const upright = await sharp(output).rotate().png().toBuffer();
      const { width = 0, height = 0 } = await sharp(upright).metadata();
      assert.ok(near(await pixelAt(upright, width / 2, height / 4), RED), 'top is red');
      assert.ok(near(await pixelAt(upright, width / 2, (height * 3) / 4), BLUE), 'bottom is blue');
    }
    for (const variant of [image.variants.thumb, image.variants.feed]) await assertNoMetadata(variant);
    assert.equal((await sharp(image.variants.thumb).metadata()).format, 'webp');
  });

  test('a JPEG keeps its ICC profile', async () => {
    const image = await accepted(
      await halves(64, 32)
        .jpeg()
        .withIccProfile('p3')
        .withExif({ IFD0: { Make: 'PhoneMaker' } })
        .toBuffer(),
    );
    const metadata = await sharp(original(image)).metadata();
    assert.equal(metadata.hasProfile, true);
    assert.equal(metadata.exif, undefined);
  });

  test('a PNG loses its tEXt and iTXt chunks and stays lossless', async () => {
    const input = await pngWithText();
    assert.ok(input.includes(SECRET), 'the input carries the text');
    const image = await accepted(input);
    assert.equal(image.type.mime, 'image/png');
    for (const output of outputs(image)) await assertNoMetadata(output);
    const raw = (bytes: Buffer) => sharp(bytes).removeAlpha().raw().toBuffer();
    assert.deepEqual(await raw(original(image)), await raw(input), 'every pixel is unchanged');
  });

  test('a lossy WebP loses its EXIF and XMP chunks', async () => {
    const input = await webpWithMetadata();
    assert.ok(input.includes(SECRET) && input.includes('EXIF'), 'the input carries both chunks');
    const image = await accepted(input);
    assert.equal(image.type.mime, 'image/webp');
    for (const output of outputs(image)) await assertNoMetadata(output);
  });

  test('a lossless WebP stays lossless', async () => {
    const input = await halves(64, 32)
      .webp({ lossless: true })
      .withExif({ IFD0: { Make: 'PhoneMaker' } })
      .toBuffer();
    const image = await accepted(input);
    assert.ok(original(image).includes('VP8L'), 'stored with the lossless codec');
    await assertNoMetadata(original(image));
    assert.deepEqual(await sharp(original(image)).raw().toBuffer(), await sharp(input).raw().toBuffer());
  });

  test('a truncated JPEG is refused in our words', async () => {
    const photo = await sidewaysPhoneJpeg(400, 200);
    const result = await refused(photo.subarray(0, Math.floor(photo.length * 0.6)));
    assert.deepEqual(result, { refused: 'undecodable', message: 'the image is truncated' });
  });

  test('a polyglot that only starts like a JPEG does not decode', async () => {
    const photo = await sidewaysPhoneJpeg(400, 200);
    const polyglot = Buffer.concat([
      photo.subarray(0, 20),
      Buffer.from('<html><script>alert(document.cookie)</script></html>\n'.repeat(50)),
    ]);
    const result = await refused(polyglot);
    assert.deepEqual(result, {
      refused: 'undecodable',
      message: 'the image is damaged: a segment is not where the previous one ends',
    });
  });

  test('a JPEG with a script after its end is stored without it', async () => {
    const photo = await halves(64, 32).jpeg().toBuffer();
    const image = await accepted(Buffer.concat([photo, Buffer.from('<script>alert(document.cookie)</script>')]));
    assert.deepEqual(original(image), photo);
  });

  test('an image whose entropy-coded data libvips cannot decode: our words for the client, its words in `detail`', async () => {
    const photo = await halves(256, 256).jpeg().toBuffer();
    // A DHT segment whose table is all zeros: the structure is whole, the data cannot be decoded.
    const table = photo.indexOf(Buffer.from([0xff, 0xc4]));
    const broken = Buffer.from(photo);
    broken.fill(0, table + 5, table + 21);
    const result = await refused(broken);
    assert.equal(result.message, 'the image does not decode');
    assert.ok('detail' in result && typeof result.detail === 'string' && result.detail.length > 0, 'the decoder says why');
  });

  test("a very tall image: its variants are scaled down to fit WebP's 16383 px", async () => {
    const tall = await sharp({ create: { width: 64, height: 64_000, channels: 3, background: RED } })
      .gif()
      .toBuffer();
    const image = await accepted(tall);
    assert.deepEqual([image.width, image.height], [64, 64_000]);
    // 64 × 16383 / 64000 = 16.4 px wide.
    assert.deepEqual(await dimensions(image.variants.feed), { width: 16, height: 16_383 });
    assert.deepEqual(await dimensions(image.variants.thumb), { width: 16, height: 16_383 });
    assert.deepEqual(original(image), tall);
  });

  test('a type other than JPEG, PNG, GIF or WebP is refused even though libvips reads it', async () => {
    assert.equal((await refused(await halves(16, 16).tiff().toBuffer())).refused, 'undecodable');
  });

  test('a tiny PNG declaring 20000×20000 is refused from its header, quickly and without the memory', async () => {
    const bomb = pngDeclaring(20_000, 20_000);
    assert.ok(bomb.length < 2_000, `${bomb.length} bytes`);
    const rssBefore = process.memoryUsage.rss();
    const started = performance.now();
    const result = await refused(bomb);
    const elapsed = performance.now() - started;
    assert.deepEqual(
      { refused: result.refused, pixels: 'pixels' in result && result.pixels },
      { refused: 'too_many_pixels', pixels: 400_000_000 },
    );
    assert.ok(elapsed < 500, `${elapsed.toFixed(0)} ms`);
    // Decoding would take 1.6 GB for its RGBA pixels.
    assert.ok(process.memoryUsage.rss() - rssBefore < 64 * 1024 * 1024, 'no decoded pixels were allocated');
  });

  test('the pixel limit: exactly MAX_IMAGE_PIXELS is accepted, one more is not', async () => {
    const input = await halves(40, 30).png().toBuffer();
    await accepted(input, 1200);
    const result = await refused(input, 1199);
    assert.equal(result.refused, 'too_many_pixels');
  });

  test('an animated GIF: variants from its first frame, the original still animated, every frame counted', async () => {
    const gif = await animatedGif();
    const image = await accepted(gif);
    assert.equal(image.type.mime, 'image/gif');
    assert.deepEqual({ width: image.width, height: image.height }, { width: 30, height: 30 });
    const stored = await sharp(original(image)).metadata();
    assert.deepEqual(
      { pages: stored.pages, delay: stored.delay, loop: stored.loop },
      { pages: 3, delay: [100, 100, 100], loop: 0 },
    );
    const frames = await sharp(original(image), { animated: true }).raw().toBuffer({ resolveWithObject: true });
    const frameStart = (i: number) => i * 30 * 30 * frames.info.channels;
    for (const [i, colour] of [RED, GREEN, BLUE].entries()) {
      const at = frameStart(i);
      assert.ok(
        near({ r: frames.data[at]!, g: frames.data[at + 1]!, b: frames.data[at + 2]! }, colour, 0),
        `frame ${i} kept its colour`,
      );
    }
    for (const variant of [image.variants.thumb, image.variants.feed]) {
      const metadata = await sharp(variant).metadata();
      assert.deepEqual(
        { width: metadata.width, height: metadata.height, pages: metadata.pages },
        { width: 30, height: 30, pages: undefined },
      );
      assert.ok(near(await pixelAt(variant, 15, 15), RED));
    }
    assert.equal((await refused(gif, 30 * 30 * 3 - 1)).refused, 'too_many_pixels');
    await accepted(gif, 30 * 30 * 3);
  });

  test('variant widths: a 4000-px image gets 320 and 1080, a 200-px image keeps 200', async () => {
    const large = await accepted(await halves(4000, 3000).jpeg().toBuffer());
    assert.deepEqual(await dimensions(original(large)), { width: 4000, height: 3000 });
    assert.deepEqual(await dimensions(large.variants.thumb), { width: 320, height: 240 });
    assert.deepEqual(await dimensions(large.variants.feed), { width: 1080, height: 810 });
    const small = await accepted(await halves(200, 100).png().toBuffer());
    assert.deepEqual(await dimensions(small.variants.thumb), { width: 200, height: 100 });
    assert.deepEqual(await dimensions(small.variants.feed), { width: 200, height: 100 });
  });

  test('the placeholder is a ThumbHash of the image', async () => {
    const image = await accepted(
      await sharp({ create: { width: 300, height: 200, channels: 3, background: GREEN } })
        .png()
        .toBuffer(),
    );
    const { r, g, b } = thumbHashToAverageRGBA(Buffer.from(image.placeholder, 'base64'));
    assert.ok(near({ r: r * 255, g: g * 255, b: b * 255 }, GREEN, 10), `average ${r}, ${g}, ${b}`);
  });
});
