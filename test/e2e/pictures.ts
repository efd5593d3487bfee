import { crc32, deflateSync } from 'node:zlib';

type Rgb = readonly [number, number, number];

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A real, decodable RGB PNG that looks like something in a screenshot: a diagonal gradient from
 * `from` to `to` with a pale disc. `padTo` makes the file that many bytes with a private chunk
 * that decoders skip: a large upload (progress worth watching) of a picture that stays clean.
 */
export function picture(width: number, height: number, from: Rgb, to: Rgb, padTo = 0): Buffer {
  const stride = width * 3 + 1;
  const raw = Buffer.alloc(stride * height);
  const [cx, cy, radius] = [width * 0.7, height * 0.35, Math.min(width, height) * 0.18];
  for (let y = 0; y < height; y++) {
    raw[y * stride] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const t = (x / width + y / height) / 2;
      const inDisc = (x - cx) ** 2 + (y - cy) ** 2 < radius ** 2;
      for (let c = 0; c < 3; c++) {
        const base = inDisc ? 250 : from[c]! + (to[c]! - from[c]!) * t;
        raw[y * stride + 1 + x * 3 + c] = Math.round(base);
      }
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, standard filters, no interlace
  const start = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
  ]);
  const end = chunk('IEND', Buffer.alloc(0));
  const padding = padTo - start.length - end.length - 12; // 12: a chunk's length, type and CRC
  return Buffer.concat([start, ...(padding > 0 ? [chunk('paDd', Buffer.alloc(padding))] : []), end]);
}
