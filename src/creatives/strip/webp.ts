import { damaged, need, Parts, type StrippedImage } from './structure.ts';

/** Chunks that draw the image: the bitstreams, alpha, animation and its frames, the ICC profile. */
const IMAGE_CHUNKS = new Set(['VP8X', 'VP8 ', 'VP8L', 'ALPH', 'ANIM', 'ANMF', 'ICCP']);

/** VP8X's feature flags (its first byte). */
const ICC_FLAG = 0x20;
const ALPHA_FLAG = 0x10;
const ANIMATION_FLAG = 0x02;

/**
 * Keeps the RIFF chunks of IMAGE_CHUNKS byte for byte and leaves out EXIF, XMP, unknown chunks and
 * anything after the RIFF's end; VP8X's flags then say what is left (no EXIF, no XMP; ICC only if
 * its chunk stayed) and the RIFF size is the new one.
 */
export function stripWebp(bytes: Buffer): StrippedImage {
  need(bytes, 12);
  if (bytes.toString('latin1', 0, 4) !== 'RIFF' || bytes.toString('latin1', 8, 12) !== 'WEBP')
    throw damaged('it does not start like a WebP');
  const riffEnd = 8 + bytes.readUInt32LE(4);
  need(bytes, riffEnd);
  const parts = new Parts();
  let size = 4; // 'WEBP'
  let extended: Buffer | undefined;
  let hasIcc = false;
  for (let at = 12; at < riffEnd;) {
    need(bytes, at + 8);
    const fourcc = bytes.toString('latin1', at, at + 4);
    const length = bytes.readUInt32LE(at + 4);
    const end = at + 8 + length + (length % 2);
    if (end > riffEnd) throw damaged('a chunk runs past the end of the WebP');
    if (fourcc === 'VP8X') {
      extended = Buffer.from(bytes.subarray(at, end));
      parts.add(extended);
    } else if (IMAGE_CHUNKS.has(fourcc)) parts.keep(bytes, at, end);
    if (IMAGE_CHUNKS.has(fourcc)) size += end - at;
    if (fourcc === 'ICCP') hasIcc = true;
    at = end;
  }
  if (extended) {
    need(extended, 9);
    extended[8] = (extended[8]! & (ALPHA_FLAG | ANIMATION_FLAG)) | (hasIcc ? ICC_FLAG : 0);
  }
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(size, 4);
  riff.write('WEBP', 8, 'latin1');
  return { parts: [riff, ...parts.done()], frames: 1 };
}
