import { rm } from 'node:fs/promises';
import type { FastifyBaseLogger } from 'fastify';
import { HttpError } from '../platform/http/errors.ts';
import type { CreativesMetrics } from './metrics.ts';
import type { ImageProcessor, ImageRefusal, ProcessedImage } from './images.ts';
import type { Creative } from './repository.ts';
import type { CreativesService, NewUpload } from './service.ts';

type ImageWork = () => Promise<ProcessedImage | ImageRefusal>;

export interface IntakeDependencies {
  creatives: CreativesService;
  images: ImageProcessor;
  metrics: CreativesMetrics;
}

/**
 * The one way a received file becomes a creative, whichever route received it: the file at `path`
 * (removed here, whatever happens) is proved whole and stripped of its metadata, and its variants
 * are made, in the person's turn (`inTurn`: the upload ticket's, which times it toward their
 * budget); the result is stored and recorded. A refused image is a 415 or 413 in our words; the
 * decoder's own detail goes to `log` only.
 */
export async function createCreativeFromFile(
  { creatives, images, metrics }: IntakeDependencies,
  path: string,
  creative: Omit<NewUpload, 'imageMs'>,
  {
    log,
    inTurn,
  }: { log: FastifyBaseLogger; inTurn: (work: ImageWork) => Promise<{ image: ProcessedImage | ImageRefusal; imageMs: number }> },
): Promise<Creative> {
  let processed;
  try {
    processed = await inTurn(() => metrics.timeImageProcessing(() => images.process(path)));
  } finally {
    await rm(path, { force: true });
  }
  const { image, imageMs } = processed;
  if ('refused' in image) {
    if ('detail' in image) log.info({ detail: image.detail }, `image refused: ${image.message}`);
    throw refusal(image);
  }
  try {
    const created = await creatives.create(image, { ...creative, imageMs }, log);
    metrics.uploads.inc({ outcome: 'stored' });
    metrics.uploadBytes.inc(image.original.size);
    return created;
  } finally {
    await rm(image.original.path, { force: true });
  }
}

function refusal(image: ImageRefusal): HttpError {
  return image.refused === 'too_many_pixels'
    ? new HttpError(413, image.message, { code: 'image_too_large', field: 'file' })
    : new HttpError(415, image.message, { field: 'file' });
}
