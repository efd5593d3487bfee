import { encodePng } from '../support/images.ts';

type Rgb = readonly [number, number, number];

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
  return encodePng(width, height, raw, padTo);
}
