import { deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { pngChunk } from './images.ts';

/** Real images made with sharp, carrying the metadata a phone or an editor would leave in them. */

export const RED = { r: 255, g: 0, b: 0 };
export const BLUE = { r: 0, g: 0, b: 255 };
export const GREEN = { r: 0, g: 255, b: 0 };

/** 12°58′N 77°35′E, and the camera that was there. */
export const GPS_EXIF = {
  IFD0: { Make: 'PhoneMaker', Model: 'Phone 12', DateTime: '2026:11:25 09:30:00' },
  IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '12/1 58/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '77/1 35/1 0/1' },
};
export const SECRET = 'Asha at home';
export const XMP = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>${SECRET}</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>`;

/** `width` × `height`: the left half red, the right half blue. */
export function halves(width: number, height: number): Sharp {
  return sharp({ create: { width, height, channels: 3, background: RED } }).composite([
    { input: { create: { width: width / 2, height, channels: 3, background: BLUE } }, left: width / 2, top: 0 },
  ]);
}

/**
 * A camera JPEG stored sideways: its pixels are `width` × `height`, left half red, right half blue,
 * with EXIF Orientation 6 (turn 90° clockwise to display) and a GPS position.
 */
export function sidewaysPhoneJpeg(width: number, height: number): Promise<Buffer> {
  return halves(width, height).jpeg({ quality: 95 }).withExif(GPS_EXIF).withMetadata({ orientation: 6 }).toBuffer();
}

/** A photo-like JPEG (noise compresses as poorly as a real photo) of about `width` × `height`. */
export function noisyJpeg(width: number, height: number, quality = 92): Promise<Buffer> {
  return sharp({
    create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } },
  })
    .jpeg({ quality })
    .withExif(GPS_EXIF)
    .toBuffer();
}

const PNG_SIGNATURE_AND_IHDR = 8 + 12 + 13;

/** A PNG with a tEXt and an iTXt chunk (as editors write them) after its header. */
export async function pngWithText(): Promise<Buffer> {
  const plain = await halves(64, 32).png().toBuffer();
  const text = pngChunk('tEXt', Buffer.from(`Author\0${SECRET}`, 'latin1'));
  const itxt = pngChunk('iTXt', Buffer.concat([Buffer.from('Comment\0\0\0\0\0', 'latin1'), Buffer.from(`${SECRET} ✓`)]));
  return Buffer.concat([plain.subarray(0, PNG_SIGNATURE_AND_IHDR), text, itxt, plain.subarray(PNG_SIGNATURE_AND_IHDR)]);
}

/**
 * A few hundred bytes that declare a `width` × `height` RGBA PNG: a decompression bomb's header
 * (the IDAT holds only the first rows; a decoder that trusted it would allocate the whole image).
 */
export function pngDeclaring(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, deflate, adaptive filtering, no interlace
  const rows = deflateSync(Buffer.alloc((width * 4 + 1) * 4));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', rows),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A lossy WebP with EXIF (GPS) and XMP chunks. */
export function webpWithMetadata(): Promise<Buffer> {
  return halves(64, 32).webp({ quality: 80 }).withExif(GPS_EXIF).withXmp(XMP).toBuffer();
}

/** Frames of `side` × `side`, one of each colour, for an animated encoder. */
export async function frameStrip(side: number, colours: { r: number; g: number; b: number }[]): Promise<Sharp> {
  const strip = await sharp({ create: { width: side, height: side * colours.length, channels: 3, background: colours[0]! } })
    .composite(
      colours.map((colour, i) => ({
        input: { create: { width: side, height: side, channels: 3, background: colour } },
        left: 0,
        top: i * side,
      })),
    )
    .raw()
    .toBuffer({ resolveWithObject: true });
  return sharp(strip.data, {
    raw: { width: side, height: side * colours.length, channels: strip.info.channels, pageHeight: side },
  });
}

/** A 30×30 GIF of three frames, red, green then blue, looping forever. */
export async function animatedGif(): Promise<Buffer> {
  return (await frameStrip(30, [RED, GREEN, BLUE])).gif({ delay: [100, 100, 100], loop: 0 }).toBuffer();
}

/** The RGB of the pixel at (x, y) of an encoded image (fractions rounded down). */
export async function pixelAt(image: Buffer, x: number, y: number): Promise<{ r: number; g: number; b: number }> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (Math.floor(y) * info.width + Math.floor(x)) * info.channels;
  return { r: data[at]!, g: data[at + 1]!, b: data[at + 2]! };
}

/** True when `actual` is within `tolerance` of `expected` on each channel (lossy codecs move colours a little). */
export function near(
  actual: { r: number; g: number; b: number },
  expected: { r: number; g: number; b: number },
  tolerance = 40,
): boolean {
  return (
    Math.abs(actual.r - expected.r) <= tolerance &&
    Math.abs(actual.g - expected.g) <= tolerance &&
    Math.abs(actual.b - expected.b) <= tolerance
  );
}
