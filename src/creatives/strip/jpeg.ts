import { damaged, need, Parts, truncated, type StrippedImage } from './structure.ts';

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP0 = 0xe0;
const APP1 = 0xe1;
const APP2 = 0xe2;
const APP14 = 0xee;

/**
 * Segments the decoder needs: quantization and Huffman tables (DQT, DHT), arithmetic conditioning
 * (DAC), restart interval (DRI), number of lines (DNL), and every start-of-frame except the three
 * codes that are not one (DHT, JPG, DAC).
 */
const DECODING_SEGMENTS = new Set([
  0xdb, 0xc4, 0xcc, 0xdd, 0xdc, 0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf,
]);

const startsWith = (bytes: Buffer, at: number, text: string) => bytes.toString('latin1', at, at + text.length) === text;

/**
 * Takes a JPEG apart segment by segment and keeps what draws the image: the tables, the frame, each
 * scan's entropy-coded data byte for byte (restart markers and all), JFIF (APP0, without its
 * thumbnail), the ICC profile (APP2, every chunk) and Adobe's APP14 (it says how CMYK and YCCK are
 * stored). EXIF and XMP (APP1), IPTC (APP13), comments, the makers' APPn and whatever follows EOI
 * are left out. When EXIF says the photo is turned or mirrored, a minimal EXIF block holding only
 * that Orientation takes its place, so browsers show it upright from the very same pixels.
 */
export function stripJpeg(bytes: Buffer): StrippedImage {
  need(bytes, 2);
  if (bytes[0] !== 0xff || bytes[1] !== SOI) throw damaged('it does not start like a JPEG');
  const parts = new Parts();
  let jfif: Buffer | undefined;
  let orientation = 1;
  let at = 2;
  for (;;) {
    const marker = markerAt(bytes, at);
    if (marker.code === EOI) {
      parts.keep(bytes, marker.start, marker.start + 2);
      break;
    }
    need(bytes, marker.start + 4);
    const end = marker.start + 2 + bytes.readUInt16BE(marker.start + 2);
    need(bytes, end);
    const payload = marker.start + 4;
    if (marker.code === APP0 && startsWith(bytes, payload, 'JFIF\0') && end - payload >= 14) {
      jfif ??= jfifWithoutThumbnail(bytes.subarray(payload, payload + 14));
    } else if (marker.code === APP1 && startsWith(bytes, payload, 'Exif\0\0')) {
      orientation = exifOrientation(bytes.subarray(payload + 6, end)) ?? orientation;
    } else if (
      (marker.code === APP2 && startsWith(bytes, payload, 'ICC_PROFILE\0')) ||
      (marker.code === APP14 && startsWith(bytes, payload, 'Adobe')) ||
      DECODING_SEGMENTS.has(marker.code)
    ) {
      parts.keep(bytes, marker.start, end);
    } else if (marker.code === SOS) {
      at = endOfEntropyCodedData(bytes, end);
      parts.keep(bytes, marker.start, at);
      continue;
    }
    at = end;
  }
  // SOI, then JFIF and EXIF where readers look for them first.
  const header = [
    bytes.subarray(0, 2),
    ...(jfif ? [jfif] : []),
    ...(orientation === 1 ? [] : [orientationOnlyExif(orientation)]),
  ];
  return { parts: [...header, ...parts.done()], frames: 1 };
}

/** The marker at `at` (fill bytes 0xFF before it skipped), and where it starts. */
function markerAt(bytes: Buffer, at: number): { code: number; start: number } {
  need(bytes, at + 2);
  if (bytes[at] !== 0xff) throw damaged('a segment is not where the previous one ends');
  let start = at;
  while (bytes[start + 1] === 0xff) {
    start++;
    need(bytes, start + 2);
  }
  const code = bytes[start + 1]!;
  if (code === SOI || code === 0x00) throw damaged('a marker is out of place');
  return { code, start };
}

/**
 * Where a scan's entropy-coded data ends: at the first marker that is neither a stuffed 0xFF00 nor
 * a restart marker (RST0–7). A scan that runs to the end of the file is truncated.
 */
function endOfEntropyCodedData(bytes: Buffer, from: number): number {
  let at = from;
  for (;;) {
    at = bytes.indexOf(0xff, at);
    if (at < 0 || at + 1 >= bytes.length) throw truncated();
    const next = bytes[at + 1]!;
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) at += 2;
    else if (next === 0xff) at += 1;
    else return at;
  }
}

/** JFIF's APP0 with its version, units and density, and no thumbnail (its pixels could be anything). */
function jfifWithoutThumbnail(fields: Buffer): Buffer {
  const segment = Buffer.alloc(4 + 14);
  segment.set([0xff, APP0, 0, 16]);
  fields.copy(segment, 4, 0, 12);
  return segment; // thumbnail width and height: 0
}

const ORIENTATION_TAG = 0x0112;
const SHORT = 3;

/** The Orientation of EXIF's first IFD, when it is one of the eight that exist. */
export function exifOrientation(tiff: Buffer): number | undefined {
  try {
    const order = tiff.toString('latin1', 0, 2);
    if (order !== 'II' && order !== 'MM') return undefined;
    const u16 = (at: number) => (order === 'II' ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
    const u32 = (at: number) => (order === 'II' ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
    const ifd = u32(4);
    const entries = u16(ifd);
    for (let i = 0; i < entries; i++) {
      const entry = ifd + 2 + i * 12;
      if (u16(entry) !== ORIENTATION_TAG) continue;
      const value = u16(entry + 8);
      return u16(entry + 2) === SHORT && value >= 1 && value <= 8 ? value : undefined;
    }
  } catch (error) {
    // An offset past the end: EXIF that says nothing usable, which is not the image's problem.
    if (error instanceof RangeError) return undefined;
    throw error;
  }
  return undefined;
}

/** An APP1 EXIF segment whose one IFD holds one tag, Orientation (big-endian TIFF). */
export function orientationOnlyExif(orientation: number): Buffer {
  const tiff = Buffer.from([
    ...[0x4d, 0x4d, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08], // "MM", 42, IFD0 at 8
    ...[0x00, 0x01], // one entry
    ...[0x01, 0x12, 0x00, SHORT, 0x00, 0x00, 0x00, 0x01, 0x00, orientation, 0x00, 0x00],
    ...[0x00, 0x00, 0x00, 0x00], // no next IFD
  ]);
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const header = Buffer.from([0xff, APP1, 0, 0]);
  header.writeUInt16BE(2 + payload.length, 2);
  return Buffer.concat([header, payload]);
}
