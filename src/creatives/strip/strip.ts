import type { ImageType } from '../image-type.ts';
import { stripGif } from './gif.ts';
import { stripJpeg } from './jpeg.ts';
import { stripPng } from './png.ts';
import type { StrippedImage } from './structure.ts';
import { stripWebp } from './webp.ts';

export { NotWholeImage, type StrippedImage } from './structure.ts';

const STRIPPERS: Record<ImageType['extension'], (bytes: Buffer) => StrippedImage> = {
  jpg: stripJpeg,
  png: stripPng,
  gif: stripGif,
  webp: stripWebp,
};

/**
 * Takes the metadata out of an image's structure and leaves its image data as it was sent; throws
 * NotWholeImage when the structure is truncated or damaged.
 */
export function stripMetadata(type: ImageType, bytes: Buffer): StrippedImage {
  return STRIPPERS[type.extension](bytes);
}
