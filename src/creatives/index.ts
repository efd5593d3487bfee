import type { FeatureDependencies, FeatureModule } from '../platform/feature.ts';
import { CREATIVES_ERROR_CODES } from './errors.ts';
import { createFeedCache } from './feed-cache.ts';
import { fileRoutes } from './file-routes.ts';
import { ACCEPTED_IMAGE_TYPES } from './image-type.ts';
import { ImageProcessor, VARIANT_WIDTHS } from './images.ts';
import { CreativesMetrics } from './metrics.ts';
import { sweepOrphans } from './orphan-sweep.ts';
import { creativesRoutes, MAX_PAGE } from './routes.ts';
import { CreativesService } from './service.ts';
import { openStorage } from './storage/open.ts';
import type { Storage } from './storage/storage.ts';
import { sweepTemporaryImages } from './temporary-file.ts';
import { UploadAdmission } from './upload-admission.ts';
import { UploadLimits } from './upload-limits.ts';
import { uploadRoutes } from './upload-routes.ts';

/** What a client checks before it uploads or pages (GET /meta tells it). */
export interface CreativesClientFacts {
  /** MIME types an upload may have. */
  acceptedTypes: string[];
  variantWidths: { thumb: number; feed: number };
  /** The largest page the paged routes give. */
  pageLimitMax: number;
}

/**
 * Creatives: images uploaded for a date, checked, stripped and stored with their variants; the
 * feed of today's and tomorrow's; each person's own list; the files themselves.
 */
export interface CreativesModule extends FeatureModule {
  /** The only writer of creatives. */
  service: CreativesService;
  /** Decodes and strips uploads and makes their variants, IMAGE_CONCURRENCY at a time. */
  images: ImageProcessor;
  storage: Storage;
  /** Who may upload now: in-flight, temporary bytes, deadline, a fair turn at the image processor. */
  admission: UploadAdmission;
  clientFacts: CreativesClientFacts;
}

/** Opens the storage (UPLOAD_DIR or the bucket, else a start-up error naming it) and builds the feature on it. */
export async function createCreatives(deps: FeatureDependencies): Promise<CreativesModule> {
  const { config, db, logger, now } = deps;
  const storage = await openStorage(config, logger);
  const sweptImages = await sweepTemporaryImages();
  if (sweptImages > 0) logger.info({ files: sweptImages }, 'removed temporary images of interrupted uploads');
  const uploadLimits = new UploadLimits(
    db,
    {
      perUserPerHour: config.uploadsPerUserPerHour,
      userQuotaBytes: config.userQuotaBytes,
      imageSecondsPerUserPerHour: config.imageSecondsPerUserPerHour,
      disk: config.storage.kind === 'local' ? { directory: config.uploadDir, minFreeBytes: config.minFreeDiskBytes } : undefined,
    },
    now,
  );
  const service = new CreativesService(
    db,
    storage,
    createFeedCache({ ttlMs: deps.cacheTtlMs, now, countLookup: deps.metrics.cache('feed') }),
    logger,
    uploadLimits,
    config.feedLimit,
    config.publicFilesUrl,
  );
  const images = new ImageProcessor({ maxPixels: config.maxImagePixels }, config.imageConcurrency);
  const admission = new UploadAdmission(uploadLimits, {
    inFlightPerUser: config.uploadsInFlightPerUser,
    tempMaxBytes: config.uploadTempMaxBytes,
    maxSeconds: config.uploadMaxSeconds,
    userQuotaBytes: config.userQuotaBytes,
    imageConcurrency: config.imageConcurrency,
  });
  const metrics = new CreativesMetrics(deps.metrics);

  return {
    service,
    images,
    storage,
    admission,
    clientFacts: {
      acceptedTypes: ACCEPTED_IMAGE_TYPES.map((type) => type.mime),
      variantWidths: VARIANT_WIDTHS,
      pageLimitMax: MAX_PAGE,
    },
    errorCodes: CREATIVES_ERROR_CODES,
    publicRoutes: (app) => app.register(fileRoutes, { creatives: service }),
    protectedRoutes: async (app) => {
      await app.register(creativesRoutes, { creatives: service, appTimezone: config.appTimezone });
      await app.register(uploadRoutes, { creatives: service, admission, images, rules: config, metrics });
    },
    periodicTasks: [
      { name: 'hourly upload counts', run: () => uploadLimits.prune() },
      { name: 'orphaned files', run: () => sweepOrphans(db, storage, logger) },
    ],
    close: () => storage.close(),
  };
}
