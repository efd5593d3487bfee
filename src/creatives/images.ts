import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import pLimit, { type LimitFunction } from 'p-limit';
import type sharpFunction from 'sharp';
import type { Metadata, Sharp, SharpOptions } from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import { ACCEPTED_IMAGE_TYPES, type ImageType } from './image-type.ts';

/** Widths of the WebP variants made of every creative; an image narrower than one is not enlarged. */
export const VARIANT_WIDTHS = { thumb: 320, feed: 1080 } as const;
export type VariantName = keyof typeof VARIANT_WIDTHS;
export const VARIANT_NAMES = Object.keys(VARIANT_WIDTHS) as VariantName[];

/** What is stored of an accepted image: nothing in it identifies a person or place. */
export interface ProcessedImage {
  type: ImageType;
  /** As displayed: after the EXIF orientation is applied; one frame of an animation. */
  width: number;
  height: number;
  /** The image itself, upright, without EXIF, XMP, IPTC or comments (an ICC profile stays). */
  original: Buffer;
  variants: Record<VariantName, Buffer>;
  /** ThumbHash, base64. */
  placeholder: string;
}

export type ImageRefusal =
  { refused: 'undecodable'; message: string } | { refused: 'too_many_pixels'; pixels: number; message: string };

export interface ImageLimits {
  /** Width × height × frames above this is refused before any pixel is decoded. */
  maxPixels: number;
}

const JPEG_QUALITY = 90;
const VARIANT_QUALITY = 80;
/** libwebp's effort 2 of 6 encodes a 1080-px variant in about half the time of the default 4, ~3 % larger. */
const VARIANT_EFFORT = 2;
/**
 * ThumbHash keeps at most 7 cosine terms a side, so 32 px a side is plenty; it runs on the event
 * loop, where 100×75 (its maximum) takes ~6 ms warm and 32×24 ~0.1 ms.
 */
const PLACEHOLDER_SIZE = 32;

/**
 * Processes images at most `concurrency` at a time (IMAGE_CONCURRENCY); the others wait their
 * turn, first come first served. Memory stays bounded by that many decoded images: libvips keeps
 * no cache of operations (each image is seen once, so a cache would only hold memory), and each
 * image gets its share of the cores as libvips threads.
 */
export class ImageProcessor {
  readonly slots: LimitFunction;

  constructor(
    private readonly limits: ImageLimits,
    concurrency: number,
  ) {
    this.slots = pLimit(concurrency);
    this.threadsPerImage = Math.max(1, Math.floor(availableParallelism() / concurrency));
  }

  private readonly threadsPerImage: number;

  process(path: string): Promise<ProcessedImage | ImageRefusal> {
    return this.slots(async () => {
      // A setting of the whole process: the processors in it (one, outside tests) agree on it.
      (await loadSharp()).concurrency(this.threadsPerImage);
      return processImage(path, this.limits);
    });
  }
}

type SharpFunction = typeof sharpFunction;
let sharpLoading: Promise<SharpFunction> | undefined;

/**
 * sharp loads on the first image rather than at start-up: opening libvips' shared library takes
 * 0.1–0.8 s of a cold start on this machine, depending on its load.
 */
function loadSharp(): Promise<SharpFunction> {
  return (sharpLoading ??= import('sharp').then(({ default: sharp }) => {
    sharp.cache(false);
    return sharp;
  }));
}

/**
 * Decodes the whole image at `path` and makes what is stored of it, or says why it is refused:
 * the pixel count is checked from the header first, so a decompression bomb is never decoded.
 */
export async function processImage(path: string, limits: ImageLimits): Promise<ProcessedImage | ImageRefusal> {
  const sharp = await loadSharp();
  let header: Metadata;
  try {
    header = await sharp(path, { limitInputPixels: false }).metadata();
  } catch (error) {
    return undecodable(error);
  }
  const type = ACCEPTED_IMAGE_TYPES.find((accepted) => accepted.extension === extensionOf(header.format));
  if (!type) return { refused: 'undecodable', message: `a ${header.format} image is not accepted` };
  const frames = header.pages ?? 1;
  const pixels = header.width * header.height * frames;
  if (pixels > limits.maxPixels) {
    return {
      refused: 'too_many_pixels',
      pixels,
      message: `the image has ${header.width}×${header.height}${frames > 1 ? `×${frames} frames` : ''} = ${pixels} pixels, more than ${limits.maxPixels}`,
    };
  }
  // `failOn: 'error'` makes a truncated or corrupt file an error instead of a partly grey image.
  const options: SharpOptions = { failOn: 'error', limitInputPixels: limits.maxPixels };
  try {
    const original = await encodeOriginal(sharp(path, { ...options, animated: frames > 1 }).rotate(), type, header, path);
    const variants = await makeVariants(sharp, sharp(path, options).rotate());
    return { type, width: header.autoOrient.width, height: header.autoOrient.height, original, ...variants };
  } catch (error) {
    return undecodable(error);
  }
}

function extensionOf(format: string | undefined): string | undefined {
  return format === 'jpeg' ? 'jpg' : format;
}

function undecodable(error: unknown): ImageRefusal {
  const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return { refused: 'undecodable', message: `the image does not decode: ${detail}` };
}

/** Re-encodes the whole image in its own format; sharp writes no metadata unless asked to. */
async function encodeOriginal(image: Sharp, type: ImageType, header: Metadata, path: string): Promise<Buffer> {
  image.keepIccProfile();
  switch (type.extension) {
    case 'jpg':
      // Optimised Huffman tables would need every coefficient of the image in memory for a second
      // pass (~90 MiB for 12 megapixels, against ~28 MiB streamed), for files ~5 % smaller.
      return image
        .jpeg({
          quality: JPEG_QUALITY,
          chromaSubsampling: header.chromaSubsampling === '4:4:4' ? '4:4:4' : '4:2:0',
          optimiseCoding: false,
        })
        .toBuffer();
    case 'png':
      return image.png().toBuffer();
    case 'gif':
      // The image's own palette is reused and not dithered, so its pixels stay as they were.
      return image.gif({ reuse: true, dither: 0 }).toBuffer();
    case 'webp':
      return (await isLosslessWebp(path))
        ? image.webp({ lossless: true }).toBuffer()
        : image.webp({ quality: JPEG_QUALITY }).toBuffer();
  }
}

/**
 * The variants and the placeholder from one decode at the largest variant's size (the first frame
 * of an animation); a JPEG or WebP is shrunk while it loads.
 */
async function makeVariants(sharp: SharpFunction, image: Sharp): Promise<Pick<ProcessedImage, 'variants' | 'placeholder'>> {
  const largest = Math.max(...Object.values(VARIANT_WIDTHS));
  const { data, info } = await image
    .resize({ width: largest, withoutEnlargement: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const pixels = () => sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
  const encoded = await Promise.all(
    VARIANT_NAMES.map((name) =>
      pixels()
        .resize({ width: VARIANT_WIDTHS[name], withoutEnlargement: true })
        .webp({ quality: VARIANT_QUALITY, effort: VARIANT_EFFORT })
        .toBuffer(),
    ),
  );
  const small = await pixels()
    .resize(PLACEHOLDER_SIZE, PLACEHOLDER_SIZE, { fit: 'inside' })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const placeholder = Buffer.from(rgbaToThumbHash(small.info.width, small.info.height, small.data)).toString('base64');
  return {
    variants: Object.fromEntries(VARIANT_NAMES.map((name, i) => [name, encoded[i]!])) as Record<VariantName, Buffer>,
    placeholder,
  };
}

/**
 * Whether a WebP file's (first) image is VP8L, the lossless codec: libvips does not say, and a
 * lossless WebP must stay lossless. Walks the RIFF chunks, and the first animation frame's.
 */
async function isLosslessWebp(path: string): Promise<boolean> {
  const file = await open(path);
  try {
    const header = Buffer.alloc(8);
    let offset = 12; // 'RIFF', size, 'WEBP'
    for (;;) {
      const { bytesRead } = await file.read(header, 0, 8, offset);
      if (bytesRead < 8) return false;
      const fourcc = header.toString('latin1', 0, 4);
      if (fourcc === 'VP8L') return true;
      if (fourcc === 'VP8 ') return false;
      // An ANMF chunk's frame data starts after its 16-byte frame header.
      offset += fourcc === 'ANMF' ? 8 + 16 : 8 + header.readUInt32LE(4) + (header.readUInt32LE(4) % 2);
    }
  } finally {
    await file.close();
  }
}
