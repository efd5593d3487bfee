import { Counter, Histogram } from 'prom-client';
import type { Metrics } from '../platform/metrics.ts';

const IMAGE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What uploads count and time, registered on the registry the platform hands it. */
export class CreativesMetrics {
  readonly uploads: Counter<'outcome'>;
  readonly uploadBytes: Counter;
  readonly rateLimitRefusals: Counter<'limit'>;
  private readonly imageProcessingDuration: Histogram;

  constructor(platform: Metrics) {
    const { registry } = platform;
    this.rateLimitRefusals = platform.rateLimitRefusals;
    this.uploads = new Counter({
      name: 'uploads_total',
      help: 'Upload requests, by outcome (stored, or the error code of the refusal)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.uploadBytes = new Counter({
      name: 'upload_bytes_total',
      help: 'Bytes of the accepted uploads as stored (the stripped original; variants not counted)',
      registers: [registry],
    });
    this.imageProcessingDuration = new Histogram({
      name: 'image_processing_seconds',
      help: 'Time spent decoding an uploaded image and making its variants',
      buckets: IMAGE_BUCKETS,
      registers: [registry],
    });
  }

  /** Runs `work`, timing it in image_processing_seconds whether it succeeds or throws. */
  async timeImageProcessing<T>(work: () => Promise<T>): Promise<T> {
    const end = this.imageProcessingDuration.startTimer();
    try {
      return await work();
    } finally {
      end();
    }
  }
}
