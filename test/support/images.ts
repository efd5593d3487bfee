import { crc32, deflateSync } from 'node:zlib';

/** Tiny but complete images of each accepted type (each decodes to one pixel). */

export function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHUNK_OVERHEAD = 12;

/**
 * An 8-bit RGB PNG of `width` × `height` from its filtered scanlines (`raw`: each row a filter byte
 * and three bytes a pixel), of exactly `padTo` bytes when that is more than its natural size: the
 * extra bytes go into a private ancillary chunk, which decoders skip.
 */
export function encodePng(width: number, height: number, raw: Buffer, padTo = 0): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter method, no interlace
  const start = Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', header), pngChunk('IDAT', deflateSync(raw))]);
  const end = pngChunk('IEND', Buffer.alloc(0));
  const natural = start.length + end.length;
  if (padTo <= natural) return Buffer.concat([start, end]);
  if (padTo < natural + CHUNK_OVERHEAD) throw new Error(`a padded PNG is at least ${natural + CHUNK_OVERHEAD} bytes`);
  return Buffer.concat([start, pngChunk('paDd', Buffer.alloc(padTo - natural - CHUNK_OVERHEAD, 0x2a)), end]);
}

/**
 * A 1×1 RGB PNG of exactly `size` bytes (at least its natural size): any extra bytes go into a
 * private ancillary chunk, which decoders skip.
 */
export function png(size = 0): Buffer {
  return encodePng(1, 1, Buffer.from([0, 0xff, 0x80, 0x00]), size); // filter byte, one orange pixel
}

/** 1×1 baseline JPEG (as sharp writes it: libvips decodes it without a warning). */
export const JPEG = Buffer.from(
  '/9j/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBT/wAARCAABAAEDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAb/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFAEBAAAAAAAAAAAAAAAAAAAACP/EABQRAQAAAAAAAAAAAAAAAAAAAAD/2gAMAwEAAhEDEQA/AL0AHDFf/9k=',
  'base64',
);
/** 1×1 transparent GIF89a. */
export const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
/** 1×1 lossless WebP. */
export const WEBP = Buffer.from('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==', 'base64');

export const IMAGES = [
  { name: 'JPEG', mime: 'image/jpeg', extension: 'jpg', bytes: JPEG },
  { name: 'PNG', mime: 'image/png', extension: 'png', bytes: png() },
  { name: 'GIF', mime: 'image/gif', extension: 'gif', bytes: GIF },
  { name: 'WebP', mime: 'image/webp', extension: 'webp', bytes: WEBP },
] as const;
