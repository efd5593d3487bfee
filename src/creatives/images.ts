import { open, readFile, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import pLimit, { type LimitFunction } from 'p-limit';
import type sharpFunction from 'sharp';
import type { Sharp, SharpOptions } from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import { DETECTION_SAMPLE_BYTES, detectImageType, type ImageType } from './image-type.ts';
import { NotWholeImage, stripMetadata, type StrippedImage } from './strip/strip.ts';
import { temporaryImagePath } from './temporary-file.ts';

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
  /**
   * The upload with its metadata taken out (EXIF but a JPEG's Orientation, XMP, IPTC, comments),
   * its image data as sent: a temporary file that the caller removes.
   */
  original: { path: string; size: number };
  variants: Record<VariantName, Buffer>;
  /** ThumbHash, base64. */
  placeholder: string;
}

/** Why an image is refused: `message` in our words for the client, `detail` (the decoder's) for the log. */
export type ImageRefusal =
  { refused: 'undecodable'; message: string; detail?: string } | { refused: 'too_many_pixels'; pixels: number; message: string };

export interface ImageLimits {
  /** Width × height × frames above this is refused before any pixel is decoded. */
  maxPixels: number;
}

const VARIANT_QUALITY = 80;
/** libwebp's effort 2 of 6 encodes a 1080-px variant in about half the time of the default 4, ~3 % larger. */
const VARIANT_EFFORT = 2;
/** WebP's largest side: a taller (or wider) image's variants are scaled down further to fit. */
const WEBP_MAX_SIDE = 16383;
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
 * Makes what is stored of the image at `path`, or says why it is refused. The metadata is taken out
 * of the file's structure first (which refuses a truncated or damaged file), and from then on only
 * the stripped file is read: its pixel count is checked from its header, so a decompression bomb
 * is never decoded, and it is decoded whole to make the variants, so what is served is proved to
 * decode.
 */
export async function processImage(path: string, limits: ImageLimits): Promise<ProcessedImage | ImageRefusal> {
  const bytes = await readFile(path);
  const type = await detectImageType(bytes.subarray(0, DETECTION_SAMPLE_BYTES));
  if (!type) return { refused: 'undecodable', message: 'the file is not a JPEG, PNG, GIF or WebP image' };
  let stripped: StrippedImage;
  try {
    stripped = stripMetadata(type, bytes);
  } catch (error) {
    if (error instanceof NotWholeImage) return { refused: 'undecodable', message: error.message };
    throw error;
  }
  const original = await writeParts(stripped.parts);
  try {
    const refusal = await checkWhole(original.path, type, stripped, limits);
    if (refusal) {
      await rm(original.path, { force: true });
      return refusal;
    }
    return { type, ...(await decodeWhole(original.path, limits)), original };
  } catch (error) {
    await rm(original.path, { force: true });
    if (error instanceof NotWholeImage) return { refused: 'undecodable', message: error.message };
    return undecodable('the image does not decode', error);
  }
}

/** Refuses an image with more pixels than the limit (every frame counted) before any is decoded. */
async function checkWhole(
  path: string,
  type: ImageType,
  stripped: StrippedImage,
  limits: ImageLimits,
): Promise<ImageRefusal | undefined> {
  const header = await (await loadSharp())(path, { limitInputPixels: false }).metadata();
  if (extensionOf(header.format) !== type.extension) return { refused: 'undecodable', message: 'the image is damaged' };
  const tooMany = pixelRefusal(header.width, header.height, Math.max(header.pages ?? 1, stripped.frames), limits);
  if (tooMany) return tooMany;
  await stripped.verify?.();
  return undefined;
}

/** The stripped image's bytes in a temporary file of their own. */
async function writeParts(parts: Uint8Array[]): Promise<ProcessedImage['original']> {
  const path = temporaryImagePath();
  const file = await open(path, 'wx');
  try {
    const { bytesWritten } = await file.writev(parts);
    return { path, size: bytesWritten };
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  } finally {
    await file.close();
  }
}

function pixelRefusal(width: number, height: number, frames: number, limits: ImageLimits): ImageRefusal | undefined {
  const pixels = width * height * frames;
  if (pixels <= limits.maxPixels) return undefined;
  return {
    refused: 'too_many_pixels',
    pixels,
    message: `the image has ${width}×${height}${frames > 1 ? `×${frames} frames` : ''} = ${pixels} pixels, more than ${limits.maxPixels}`,
  };
}

/**
 * Decodes the stripped file to its last byte: every frame of an animation, and the (first) image
 * again, shrunk on load, for the variants. `failOn: 'error'` makes a corrupt file an error instead
 * of a partly grey image.
 */
async function decodeWhole(
  path: string,
  limits: ImageLimits,
): Promise<Pick<ProcessedImage, 'width' | 'height' | 'variants' | 'placeholder'>> {
  const sharp = await loadSharp();
  const options: SharpOptions = { failOn: 'error', limitInputPixels: limits.maxPixels };
  const header = await sharp(path, options).metadata();
  if ((header.pages ?? 1) > 1) await sharp(path, { ...options, animated: true }).stats();
  const variants = await makeVariants(sharp, sharp(path, options).rotate());
  return { width: header.autoOrient.width, height: header.autoOrient.height, ...variants };
}

function extensionOf(format: string | undefined): string | undefined {
  return format === 'jpeg' ? 'jpg' : format;
}

function undecodable(message: string, error: unknown): ImageRefusal {
  const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return { refused: 'undecodable', message, detail };
}

/**
 * The variants and the placeholder from one decode at the largest variant's size (the first frame
 * of an animation); a JPEG or WebP is shrunk while it loads. Each fits WebP's largest side.
 */
async function makeVariants(sharp: SharpFunction, image: Sharp): Promise<Pick<ProcessedImage, 'variants' | 'placeholder'>> {
  const fit = (width: number) => ({ width, height: WEBP_MAX_SIDE, fit: 'inside', withoutEnlargement: true }) as const;
  const largest = Math.max(...Object.values(VARIANT_WIDTHS));
  const { data, info } = await image.resize(fit(largest)).raw().toBuffer({ resolveWithObject: true });
  const pixels = () => sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
  const encoded = await Promise.all(
    VARIANT_NAMES.map((name) =>
      pixels().resize(fit(VARIANT_WIDTHS[name])).webp({ quality: VARIANT_QUALITY, effort: VARIANT_EFFORT }).toBuffer(),
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
