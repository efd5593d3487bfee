import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import exifr from 'exifr';
import sharp from 'sharp';
import type { ProcessedImage } from '../../src/creatives/images.ts';
import {
  apng,
  asCameraJpeg,
  editorPng,
  gifWithComment,
  IDENTIFYING,
  markersBeforeScan,
  pngChunks,
  scans,
  segment,
  webpChunks,
  withOrientation,
  type PngShape,
} from '../support/camera-files.ts';
import { BLUE, frameStrip, GPS_EXIF, GREEN, halves, RED, XMP } from '../support/photos.ts';
import { imageProcessing, MAX_PIXELS, original } from '../support/process-image.ts';

const { accepted, refused: refusal } = imageProcessing();

/** What is served of `bytes`: the stripped original. */
async function served(bytes: Buffer, maxPixels = MAX_PIXELS): Promise<{ image: ProcessedImage; file: Buffer }> {
  const image = await accepted(bytes, maxPixels);
  return { image, file: original(image) };
}

/** exifr finds nothing but, where allowed, the Orientation; no identifying word is in the bytes. */
async function assertNothingIdentifying(file: Buffer, orientation?: number): Promise<void> {
  const found = (await exifr
    .parse(file, {
      tiff: true,
      ifd1: true,
      exif: true,
      gps: true,
      interop: true,
      makerNote: true,
      userComment: true,
      xmp: true,
      iptc: true,
      icc: false,
      jfif: false,
      ihdr: false,
      mergeOutput: true,
      translateValues: false,
    })
    .catch(() => undefined)) as Record<string, unknown> | undefined;
  assert.deepEqual(found ?? {}, orientation === undefined ? {} : { Orientation: orientation }, 'exifr finds no metadata');
  assert.equal(await exifr.thumbnail(file).catch(() => undefined), undefined, 'no thumbnail');
  for (const word of IDENTIFYING) assert.ok(!file.includes(word), `"${word}" is not in the file`);
  assert.ok(!file.includes('Exif\0\0') || orientation !== undefined, 'no EXIF block');
}

/** Decoded by sharp (a browser's decoders: libjpeg-turbo, libspng, libwebp, libnsgif), as 16-bit where the file is. */
const pixels = (file: Buffer, options: { animated?: boolean } = {}) =>
  sharp(file, { failOn: 'error', ...options })
    .raw({ depth: 'ushort' })
    .toBuffer();

describe('JPEG: metadata taken out of the structure, the image data byte for byte', () => {
  test("a camera JPEG with EXIF (GPS, maker note, thumbnail), XMP, IPTC, makers' blocks, a comment and data after EOI", async () => {
    const plain = await halves(640, 480).jpeg({ quality: 92 }).withIccProfile('p3').toBuffer();
    const camera = await asCameraJpeg(plain);
    assert.ok((await exifr.gps(camera)).latitude > 12, 'the upload says where it was taken');
    assert.ok((await exifr.parse(camera, { iptc: true, xmp: true })).City === 'Bengaluru' || camera.includes('Bengaluru'));
    await assert.rejects(assertNothingIdentifying(camera), 'the check finds what the upload carries');
    const { image, file } = await served(camera);
    await assertNothingIdentifying(file);
    assert.deepEqual(markersBeforeScan(file), markersBeforeScan(plain), 'the segments the encoder wrote, no others');
    assert.ok(scans(file).equals(scans(plain)), 'the entropy-coded data is unchanged');
    assert.equal(file.subarray(-2).toString('hex'), 'ffd9', 'nothing after EOI');
    assert.deepEqual(await pixels(file), await pixels(camera), 'decodes to the same pixels');
    assert.equal((await sharp(file).metadata()).hasProfile, true, 'the ICC profile stays');
    assert.deepEqual([image.width, image.height], [640, 480]);
  });

  const encoders: [string, () => Promise<Buffer>][] = [
    ['progressive', () => halves(320, 240).jpeg({ progressive: true }).toBuffer()],
    ['CMYK with Adobe APP14', () => halves(320, 240).toColourspace('cmyk').jpeg().toBuffer()],
    ['4:4:4', () => halves(320, 240).jpeg({ chromaSubsampling: '4:4:4' }).toBuffer()],
    ['with an ICC profile', () => halves(320, 240).jpeg().withIccProfile('p3').toBuffer()],
    [
      'baseline with restart markers (cjpeg -restart 1)',
      async () => readFileSync(new URL('../fixtures/restart-markers.jpg', import.meta.url)),
    ],
    [
      'progressive 4:4:4 with restart markers (cjpeg)',
      async () => readFileSync(new URL('../fixtures/progressive-restart-444.jpg', import.meta.url)),
    ],
  ];
  for (const [name, encode] of encoders) {
    test(`a ${name} JPEG survives whole: same segments, scans and pixels`, async () => {
      const plain = await encode();
      const camera = await asCameraJpeg(plain);
      const { file } = await served(camera);
      await assertNothingIdentifying(file);
      assert.deepEqual(markersBeforeScan(file), markersBeforeScan(plain));
      assert.ok(scans(file).equals(scans(plain)), 'every scan, restart marker and table between scans unchanged');
      assert.deepEqual(await pixels(file), await pixels(plain));
      const [before, afterStrip] = await Promise.all([sharp(plain).metadata(), sharp(file).metadata()]);
      assert.deepEqual(
        {
          space: afterStrip.space,
          channels: afterStrip.channels,
          chroma: afterStrip.chromaSubsampling,
          progressive: afterStrip.isProgressive,
        },
        { space: before.space, channels: before.channels, chroma: before.chromaSubsampling, progressive: before.isProgressive },
      );
    });
  }

  test('every EXIF orientation 1–8: the pixels as sent, only the Orientation kept, width and height as displayed', async () => {
    const plain = await halves(64, 32).jpeg().toBuffer();
    const upright = await pixels(plain);
    for (let orientation = 1; orientation <= 8; orientation++) {
      const camera = await asCameraJpeg(plain, orientation);
      const { image, file } = await served(camera);
      await assertNothingIdentifying(file, orientation === 1 ? undefined : orientation);
      assert.equal(
        (await sharp(file).metadata()).orientation,
        orientation === 1 ? undefined : orientation,
        `orientation ${orientation}`,
      );
      assert.deepEqual(await pixels(file), upright, `orientation ${orientation}: the stored pixels are the upload's`);
      const displayed = (bytes: Buffer) => sharp(bytes).rotate().raw().toBuffer();
      assert.deepEqual(await displayed(file), await displayed(camera), `orientation ${orientation}: shown as the upload is`);
      const turned = orientation >= 5;
      assert.deepEqual([image.width, image.height], turned ? [32, 64] : [64, 32], `orientation ${orientation}`);
      const feed = await sharp(image.variants.feed).metadata();
      assert.deepEqual([feed.width, feed.height], [image.width, image.height], 'the variant is upright');
    }
  });

  test('an invalid orientation (0) is dropped with the rest and the photo is shown as stored', async () => {
    const plain = await halves(64, 32).jpeg().toBuffer();
    const { image, file } = await served(withOrientation(plain, 0));
    await assertNothingIdentifying(file);
    assert.equal((await sharp(file).metadata()).orientation, undefined);
    assert.deepEqual([image.width, image.height], [64, 32]);
  });

  test('a JFIF thumbnail is dropped; JFIF itself stays', async () => {
    const plain = await halves(64, 32).jpeg().toBuffer();
    const fields = Buffer.from([1, 2, 1, 0, 72, 0, 72]); // version 1.2, dots per inch, 72 × 72
    const thumbnail = Buffer.concat([Buffer.from([2, 2]), Buffer.alloc(12, 0x7f)]); // 2 × 2 RGB
    const jfif = segment(0xe0, 'JFIF\0', fields, thumbnail);
    const { file } = await served(Buffer.concat([plain.subarray(0, 2), jfif, plain.subarray(2)]));
    assert.deepEqual(file.subarray(2, 20), segment(0xe0, 'JFIF\0', fields, Buffer.from([0, 0])));
    assert.deepEqual(markersBeforeScan(file), [0xe0, ...markersBeforeScan(plain)]);
    assert.deepEqual(await pixels(file), await pixels(plain));
  });
});

const PNG_SHAPES: PngShape[] = [
  ...([1, 2, 4, 8, 16] as const).map((bitDepth) => ({ colourType: 0, bitDepth }) as const),
  ...([8, 16] as const).map((bitDepth) => ({ colourType: 2, bitDepth }) as const),
  ...([1, 2, 4, 8] as const).map((bitDepth) => ({ colourType: 3, bitDepth }) as const),
  ...([8, 16] as const).map((bitDepth) => ({ colourType: 4, bitDepth }) as const),
  ...([8, 16] as const).map((bitDepth) => ({ colourType: 6, bitDepth }) as const),
];

describe('PNG: text, eXIf and tIME chunks out, every other chunk byte for byte', () => {
  for (const interlaced of [false, true]) {
    test(`every colour type at every bit depth${interlaced ? ', interlaced' : ''}, with tRNS, text and eXIf`, async () => {
      for (const shape of PNG_SHAPES) {
        const name = `colour type ${shape.colourType} at ${shape.bitDepth} bits`;
        const upload = editorPng({ ...shape, interlaced });
        await assert.rejects(assertNothingIdentifying(upload), 'the check finds what the upload carries');
        const { file } = await served(upload);
        await assertNothingIdentifying(file);
        const kept = pngChunks(upload).filter(([type]) => !['tEXt', 'zTXt', 'iTXt', 'eXIf', 'tIME', 'prVt'].includes(type));
        assert.deepEqual(pngChunks(file), kept, `${name}: the image's chunks, unchanged`);
        assert.equal(file.length, 8 + kept.reduce((sum, [, data]) => sum + 12 + data.length, 0), `${name}: nothing after IEND`);
        assert.deepEqual(await pixels(file), await pixels(upload), `${name}: the same pixels`);
        const metadata = await sharp(file).metadata();
        assert.equal(metadata.depth, shape.bitDepth === 16 ? 'ushort' : 'uchar', `${name}: 16-bit stays 16-bit`);
      }
    });
  }

  test('an APNG stays animated, loses its text, and every frame counts toward MAX_IMAGE_PIXELS', async () => {
    const upload = apng(20, 10, 3);
    const { image, file } = await served(upload);
    await assertNothingIdentifying(file);
    const types = pngChunks(file).map(([type]) => type);
    assert.deepEqual(types, ['IHDR', 'acTL', 'fcTL', 'IDAT', 'fcTL', 'fdAT', 'fcTL', 'fdAT', 'IEND']);
    assert.deepEqual(
      pngChunks(file),
      pngChunks(upload).filter(([type]) => type !== 'tEXt'),
    );
    assert.deepEqual([image.width, image.height], [20, 10]);
    assert.equal((await refusal(upload, 20 * 10 * 3 - 1)).refused, 'too_many_pixels');
    await served(upload, 20 * 10 * 3);
  });

  test('an APNG whose later frame is cut short is refused, though its first frame decodes', async () => {
    const result = await refusal(apng(20, 10, 3, 2));
    assert.deepEqual(result, { refused: 'undecodable', message: 'the image is damaged: an animation frame is incomplete' });
  });

  test('a PNG chunk whose CRC does not match is refused', async () => {
    const upload = editorPng({ colourType: 2, bitDepth: 8 });
    const idat = upload.indexOf('IDAT');
    upload[idat + 6] = upload[idat + 6]! ^ 0xff;
    assert.match((await refusal(upload)).message, /checksum does not match/);
  });
});

describe('WebP and GIF', () => {
  test('an animated WebP with EXIF and XMP: both chunks out, VP8X flags to match, every frame as it was', async () => {
    const upload = await (
      await frameStrip(32, [RED, GREEN, BLUE])
    )
      .webp({ lossless: true, loop: 0, delay: [100, 100, 100] })
      .withExif(GPS_EXIF)
      .withXmp(XMP)
      .toBuffer();
    assert.ok(
      ['EXIF', 'XMP '].every((chunk) => webpChunks(upload).includes(chunk)),
      'the upload carries both chunks',
    );
    await assert.rejects(assertNothingIdentifying(upload), 'the check finds what the upload carries');
    const { image, file } = await served(upload);
    await assertNothingIdentifying(file);
    assert.deepEqual(
      webpChunks(file),
      webpChunks(upload).filter((chunk) => chunk !== 'EXIF' && chunk !== 'XMP '),
    );
    assert.equal(file[20]! & 0x0c, 0, 'VP8X announces no EXIF and no XMP');
    assert.equal(file[20]! & 0x02, 0x02, 'and still an animation');
    assert.equal(file.readUInt32LE(4), file.length - 8, 'the RIFF size is the new one');
    const metadata = await sharp(file).metadata();
    assert.deepEqual(
      { pages: metadata.pages, exif: metadata.exif, xmp: metadata.xmp },
      { pages: 3, exif: undefined, xmp: undefined },
    );
    assert.deepEqual(await pixels(file, { animated: true }), await pixels(upload, { animated: true }));
    assert.deepEqual([image.width, image.height], [32, 32]);
  });

  test('a GIF with a comment: comment, XMP and plain-text extensions out, the loop count and every frame kept', async () => {
    const gif = await (await frameStrip(30, [RED, GREEN, BLUE])).gif({ delay: [100, 100, 100], loop: 0 }).toBuffer();
    const upload = gifWithComment(gif);
    await assert.rejects(assertNothingIdentifying(upload), 'the check finds what the upload carries');
    const { file } = await served(upload);
    await assertNothingIdentifying(file);
    assert.ok(!file.includes('XMP DataXMP'), 'no XMP');
    assert.ok(file.includes('NETSCAPE2.0'), 'the loop count stays');
    assert.deepEqual(file, gif, 'exactly what the encoder wrote');
    assert.deepEqual(await pixels(file, { animated: true }), await pixels(upload, { animated: true }));
  });

  test('a GIF with its last 200 bytes cut off is truncated', async () => {
    const gif = await sharp({
      create: { width: 64, height: 64, channels: 3, background: RED, noise: { type: 'gaussian', mean: 128, sigma: 60 } },
    })
      .gif()
      .toBuffer();
    assert.ok(gif.length > 1000, `${gif.length} bytes`);
    const result = await refusal(gif.subarray(0, gif.length - 200));
    assert.deepEqual(result, { refused: 'undecodable', message: 'the image is truncated' });
  });
});
