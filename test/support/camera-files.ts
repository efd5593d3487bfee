import { deflateSync } from 'node:zlib';
import { pngChunk } from './images.ts';
import { halves, SECRET, XMP } from './photos.ts';

/**
 * Images laid out the way cameras, phones and editors write them, metadata and all: EXIF as a
 * TIFF structure in APP1 (IFD0, the Exif and GPS IFDs, a maker note, and a thumbnail in IFD1),
 * XMP in its own APP1, IPTC in Photoshop's APP13, makers' APPn blocks, comments, and data after
 * the end of the image; PNG's text and eXIf chunks; GIF's comment and application extensions.
 */

/** Words that identify a person, a device or a place in these files; none may be served. */
export const IDENTIFYING = [SECRET, 'PhoneMaker', 'Phone 12', 'SN-4711', 'Bengaluru', 'Asha'];

// --- EXIF (TIFF, big-endian) ----------------------------------------------------------------

interface Entry {
  tag: number;
  type: number;
  count: number;
  data: Buffer;
}
const ascii = (tag: number, text: string): Entry => ({
  tag,
  type: 2,
  count: text.length + 1,
  data: Buffer.from(`${text}\0`, 'latin1'),
});
const short = (tag: number, value: number): Entry => ({ tag, type: 3, count: 1, data: Buffer.from([value >> 8, value & 0xff]) });
const long = (tag: number, value: number): Entry => {
  const data = Buffer.alloc(4);
  data.writeUInt32BE(value);
  return { tag, type: 4, count: 1, data };
};
const rationals = (tag: number, values: [number, number][]): Entry => {
  const data = Buffer.alloc(values.length * 8);
  values.forEach(([n, d], i) => {
    data.writeUInt32BE(n, i * 8);
    data.writeUInt32BE(d, i * 8 + 4);
  });
  return { tag, type: 5, count: values.length, data };
};
const opaque = (tag: number, data: Buffer): Entry => ({ tag, type: 7, count: data.length, data });

const ifdSize = (entries: Entry[]) =>
  2 +
  entries.length * 12 +
  4 +
  entries.reduce((sum, e) => sum + (e.data.length > 4 ? e.data.length + (e.data.length % 2) : 0), 0);

function writeIfd(entries: Entry[], offset: number, next: number): Buffer {
  const out = Buffer.alloc(ifdSize(entries));
  out.writeUInt16BE(entries.length, 0);
  let dataAt = 2 + entries.length * 12 + 4;
  [...entries]
    .sort((a, b) => a.tag - b.tag)
    .forEach((entry, i) => {
      const at = 2 + i * 12;
      out.writeUInt16BE(entry.tag, at);
      out.writeUInt16BE(entry.type, at + 2);
      out.writeUInt32BE(entry.count, at + 4);
      if (entry.data.length <= 4) entry.data.copy(out, at + 8);
      else {
        out.writeUInt32BE(offset + dataAt, at + 8);
        entry.data.copy(out, dataAt);
        dataAt += entry.data.length + (entry.data.length % 2);
      }
    });
  out.writeUInt32BE(next, 2 + entries.length * 12);
  return out;
}

/**
 * A phone's EXIF: make, model, owner, date, `orientation` (omitted when undefined), serial number
 * and maker note, a GPS position, and a JPEG thumbnail in IFD1. The TIFF structure, without "Exif\0\0".
 */
export function cameraExif(thumbnail: Buffer, orientation?: number): Buffer {
  const pointer = (tag: number) => long(tag, 0);
  const ifd0 = [
    ascii(0x010f, 'PhoneMaker'),
    ascii(0x0110, 'Phone 12'),
    ascii(0x013b, SECRET),
    ascii(0x0132, '2026:11:25 09:30:00'),
    ...(orientation === undefined ? [] : [short(0x0112, orientation)]),
    pointer(0x8769),
    pointer(0x8825),
  ];
  const exif = [
    ascii(0x9003, '2026:11:25 09:30:00'),
    ascii(0xa431, 'SN-4711'),
    opaque(0x927c, Buffer.from(`PhoneMaker\0 owner ${SECRET}, lens SN-4711`, 'latin1')),
  ];
  const gps = [
    ascii(0x0001, 'N'),
    rationals(0x0002, [
      [12, 1],
      [58, 1],
      [3012, 100],
    ]),
    ascii(0x0003, 'E'),
    rationals(0x0004, [
      [77, 1],
      [35, 1],
      [1045, 100],
    ]),
  ];
  const ifd1 = [short(0x0103, 6), long(0x0201, 0), long(0x0202, thumbnail.length)];
  const offsets = [8];
  for (const ifd of [ifd0, exif, gps, ifd1]) offsets.push(offsets.at(-1)! + ifdSize(ifd));
  const [ifd0At, exifAt, gpsAt, ifd1At, thumbnailAt] = offsets as [number, number, number, number, number];
  ifd0.find((e) => e.tag === 0x8769)!.data.writeUInt32BE(exifAt);
  ifd0.find((e) => e.tag === 0x8825)!.data.writeUInt32BE(gpsAt);
  ifd1.find((e) => e.tag === 0x0201)!.data.writeUInt32BE(thumbnailAt);
  return Buffer.concat([
    Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08]),
    writeIfd(ifd0, ifd0At, ifd1At),
    writeIfd(exif, exifAt, 0),
    writeIfd(gps, gpsAt, 0),
    writeIfd(ifd1, ifd1At, 0),
    thumbnail,
  ]);
}

// --- JPEG -----------------------------------------------------------------------------------

/** A JPEG segment: marker, length, payload. */
export function segment(marker: number, ...payload: (string | Buffer)[]): Buffer {
  const body = Buffer.concat(payload.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
  const header = Buffer.from([0xff, marker, 0, 0]);
  header.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([header, body]);
}

/** IPTC by-line and city in Photoshop's image resource block 0x0404. */
function iptcSegment(): Buffer {
  const dataset = (record: number, text: string) => {
    const value = Buffer.from(text, 'latin1');
    const head = Buffer.from([0x1c, 2, record, 0, 0]);
    head.writeUInt16BE(value.length, 3);
    return Buffer.concat([head, value]);
  };
  const iptc = Buffer.concat([dataset(80, SECRET), dataset(90, 'Bengaluru'), dataset(101, 'India')]);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(iptc.length);
  const pad = iptc.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0);
  return segment(0xed, 'Photoshop 3.0\0', '8BIM', Buffer.from([0x04, 0x04, 0, 0]), size, iptc, pad);
}

/**
 * `jpeg` (as an encoder wrote it: SOI, then its own segments) as a phone leaves it: EXIF with GPS,
 * a maker note and a thumbnail, XMP, IPTC, two makers' APPn blocks and a comment before the image,
 * and a second, hidden image and text after its EOI.
 */
export async function asCameraJpeg(jpeg: Buffer, orientation?: number): Promise<Buffer> {
  const thumbnail = await halves(16, 12).jpeg().toBuffer();
  const metadata = [
    segment(0xe1, 'Exif\0\0', cameraExif(thumbnail, orientation)),
    segment(0xe1, 'http://ns.adobe.com/xap/1.0/\0', XMP),
    iptcSegment(),
    segment(0xeb, 'HDR_GAIN_MAP PhoneMaker SN-4711'),
    segment(0xef, `PhoneMaker private ${SECRET}`),
    segment(0xfe, `Shot by ${SECRET} in Bengaluru`),
  ];
  const afterEoi = Buffer.concat([thumbnail, Buffer.from(`<html>${SECRET}</html>`)]);
  return Buffer.concat([jpeg.subarray(0, 2), ...metadata, jpeg.subarray(2), afterEoi]);
}

/** `jpeg` with APP1 EXIF whose IFD0 holds only `orientation` (any value, even an invalid one). */
export function withOrientation(jpeg: Buffer, orientation: number): Buffer {
  const tiff = Buffer.concat([
    Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08]),
    writeIfd([short(0x0112, orientation)], 8, 0),
  ]);
  return Buffer.concat([jpeg.subarray(0, 2), segment(0xe1, 'Exif\0\0', tiff), jpeg.subarray(2)]);
}

/** The segment markers of a JPEG up to its first scan, in order. */
export function markersBeforeScan(jpeg: Buffer): number[] {
  const markers: number[] = [];
  for (let at = 2; at + 4 <= jpeg.length;) {
    const marker = jpeg[at + 1]!;
    markers.push(marker);
    if (marker === 0xda) break;
    at += 2 + jpeg.readUInt16BE(at + 2);
  }
  return markers;
}

/** From the first scan (SOS) to EOI: the entropy-coded data, restart markers and later scans. */
export function scans(jpeg: Buffer): Buffer {
  let at = 2;
  while (jpeg[at + 1] !== 0xda) at += 2 + jpeg.readUInt16BE(at + 2);
  return jpeg.subarray(at, jpeg.indexOf(Buffer.from([0xff, 0xd9]), at) + 2);
}

// --- PNG ------------------------------------------------------------------------------------

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Deterministic bytes that vary (so every sample differs from its neighbours). */
function samples(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed * 2654435761;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Filtered scanlines (filter 0) of arbitrary samples for each row, or each Adam7 pass's rows. */
function scanlines(width: number, height: number, bitsPerPixel: number, interlaced: boolean, seed: number): Buffer {
  const rows = (w: number, h: number) => {
    const rowBytes = Math.ceil((w * bitsPerPixel) / 8);
    return Buffer.concat(
      Array.from({ length: w && h }, (_, y) => Buffer.concat([Buffer.from([0]), samples(rowBytes, seed + y * 31 + w)])),
    );
  };
  if (!interlaced) return rows(width, height);
  return Buffer.concat(
    ADAM7.map(([x, y, dx, dy]) => rows(Math.max(0, Math.ceil((width - x) / dx)), Math.max(0, Math.ceil((height - y) / dy)))),
  );
}

export interface PngShape {
  colourType: 0 | 2 | 3 | 4 | 6;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  interlaced?: boolean;
  width?: number;
  height?: number;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function ihdr(width: number, height: number, { colourType, bitDepth, interlaced = false }: PngShape): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([bitDepth, colourType, 0, 0, interlaced ? 1 : 0], 8);
  return pngChunk('IHDR', header);
}

/** Palette (every index of the depth has a colour) and transparency, as an editor saves them. */
function colourChunks({ colourType, bitDepth }: PngShape): Buffer[] {
  if (colourType === 3) {
    const entries = 2 ** bitDepth;
    return [pngChunk('PLTE', samples(entries * 3, 7)), pngChunk('tRNS', samples(Math.min(entries, 4), 9))];
  }
  const grey = Buffer.from([0, 1]);
  if (colourType === 0) return [pngChunk('tRNS', grey)];
  if (colourType === 2) return [pngChunk('tRNS', Buffer.concat([grey, grey, grey]))];
  return [];
}

/**
 * A PNG of the given colour type, depth and interlacing, as an editor writes it: gAMA, pHYs,
 * palette and transparency, and the metadata to be removed: tEXt, zTXt, iTXt, tIME, eXIf (GPS),
 * and a private chunk.
 */
export function editorPng(shape: PngShape): Buffer {
  const { width = 13, height = 11 } = shape;
  const bitsPerPixel = CHANNELS[shape.colourType]! * shape.bitDepth;
  const thumbnailless = cameraExif(Buffer.alloc(0));
  const time = Buffer.from([0x07, 0xea, 11, 25, 9, 30, 0]);
  return Buffer.concat([
    PNG_SIGNATURE,
    ihdr(width, height, shape),
    pngChunk('gAMA', Buffer.from([0, 0, 0xb1, 0x8f])),
    pngChunk('tEXt', Buffer.from(`Author\0${SECRET}`, 'latin1')),
    ...colourChunks(shape),
    pngChunk('pHYs', Buffer.from([0, 0, 0x0b, 0x13, 0, 0, 0x0b, 0x13, 1])),
    pngChunk('eXIf', thumbnailless),
    pngChunk('zTXt', Buffer.concat([Buffer.from('Location\0\0', 'latin1'), deflateSync('Bengaluru')])),
    pngChunk('iTXt', Buffer.concat([Buffer.from('XML:com.adobe.xmp\0\0\0\0\0', 'latin1'), Buffer.from(XMP)])),
    pngChunk('tIME', time),
    pngChunk('prVt', Buffer.from('PhoneMaker SN-4711')),
    pngChunk(
      'IDAT',
      deflateSync(scanlines(width, height, bitsPerPixel, shape.interlaced ?? false, shape.colourType * 17 + shape.bitDepth)),
    ),
    pngChunk('IEND', Buffer.alloc(0)),
    Buffer.from(`after the end: ${SECRET}`),
  ]);
}

/** The PNG's chunks, as [type, data]. */
export function pngChunks(png: Buffer): [string, Buffer][] {
  const chunks: [string, Buffer][] = [];
  for (let at = 8; at + 12 <= png.length;) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    chunks.push([type, png.subarray(at + 8, at + 8 + length)]);
    at += 12 + length;
    if (type === 'IEND') break;
  }
  return chunks;
}

/**
 * An animated PNG of `frames` frames of 8-bit RGBA (the first is also the default image), with a
 * tEXt chunk; `corruptFrame` cuts that frame's data short (its CRC still right).
 */
export function apng(width: number, height: number, frames: number, corruptFrame?: number): Buffer {
  let sequence = 0;
  const u32 = (...values: number[]) => {
    const out = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => out.writeUInt32BE(v, i * 4));
    return out;
  };
  const control = () => Buffer.concat([u32(sequence++, width, height, 0, 0), Buffer.from([0, 100, 0, 1, 0, 0])]);
  const chunks = [
    ihdr(width, height, { colourType: 6, bitDepth: 8 }),
    pngChunk('acTL', u32(frames, 0)),
    pngChunk('tEXt', Buffer.from(`Author\0${SECRET}`, 'latin1')),
  ];
  for (let frame = 0; frame < frames; frame++) {
    let data = deflateSync(scanlines(width, height, 32, false, frame + 1));
    if (frame === corruptFrame) data = deflateSync(scanlines(width, height - 1, 32, false, frame + 1));
    chunks.push(pngChunk('fcTL', control()));
    chunks.push(frame === 0 ? pngChunk('IDAT', data) : pngChunk('fdAT', Buffer.concat([u32(sequence++), data])));
  }
  return Buffer.concat([PNG_SIGNATURE, ...chunks, pngChunk('IEND', Buffer.alloc(0))]);
}

// --- GIF and WebP ---------------------------------------------------------------------------

/** Sub-blocks of at most 255 bytes, then the terminator. */
function subBlocks(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length; at += 255) {
    const piece = data.subarray(at, at + 255);
    parts.push(Buffer.from([piece.length]), piece);
  }
  return Buffer.concat([...parts, Buffer.from([0])]);
}

/**
 * `gif` (as an encoder wrote it) as an editor leaves it: a comment and an XMP application
 * extension before the first image, a plain-text extension, and text after the trailer.
 */
export function gifWithComment(gif: Buffer): Buffer {
  const globalTable = gif[10]! & 0x80 ? 3 * 2 ** ((gif[10]! & 7) + 1) : 0;
  const headerEnd = 13 + globalTable;
  const comment = Buffer.concat([Buffer.from([0x21, 0xfe]), subBlocks(Buffer.from(`Made by ${SECRET} in Bengaluru`))]);
  const xmp = Buffer.concat([Buffer.from([0x21, 0xff, 11]), Buffer.from('XMP DataXMP'), subBlocks(Buffer.from(XMP))]);
  const plainText = Buffer.concat([Buffer.from([0x21, 0x01, 12]), Buffer.alloc(12), subBlocks(Buffer.from('PhoneMaker'))]);
  return Buffer.concat([gif.subarray(0, headerEnd), comment, xmp, plainText, gif.subarray(headerEnd), Buffer.from(SECRET)]);
}

/** The RIFF chunk names of a WebP, in order. */
export function webpChunks(webp: Buffer): string[] {
  const names: string[] = [];
  for (let at = 12; at + 8 <= webp.length;) {
    const size = webp.readUInt32LE(at + 4);
    names.push(webp.toString('latin1', at, at + 4));
    at += 8 + size + (size % 2);
  }
  return names;
}
