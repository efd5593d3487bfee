import { performance } from 'node:perf_hooks';
import { HttpError } from '../platform/http/errors.ts';
import { FairQueue } from './fair-queue.ts';
import type { ImageRefusal, ProcessedImage } from './images.ts';
import { quotaExceeded, type UploadLimits } from './upload-limits.ts';

export interface AdmissionSettings {
  /** UPLOADS_IN_FLIGHT_PER_USER: uploads one person may have arriving or processing at once. */
  inFlightPerUser: number;
  /** UPLOAD_TEMP_MAX_BYTES: bytes of uploads arriving on this instance, all people together. */
  tempMaxBytes: number;
  /** UPLOAD_MAX_SECONDS: how long an upload may take to arrive, whatever its pace. */
  maxSeconds: number;
  userQuotaBytes: number;
  /** IMAGE_CONCURRENCY: images processed at once. */
  imageConcurrency: number;
}

/** What a person at their in-flight limit, or a full temporary area, is told to wait. */
const IN_FLIGHT_RETRY_SECONDS = 5;
const TEMP_FULL_RETRY_SECONDS = 30;

/**
 * Admission of uploads, whatever their intake (a multipart form, a resumable upload): the per-person
 * limits kept in the database (UploadLimits), and what this instance holds while an upload arrives
 * and is processed: uploads in flight per person, temporary bytes (the server's and each person's,
 * counted toward their quota as they arrive), the arrival deadline, and a turn at the image
 * processor that is fair across people and timed toward IMAGE_SECONDS_PER_USER_PER_HOUR.
 */
export class UploadAdmission {
  private tempBytes = 0;
  private readonly people = new Map<number, { uploads: number; bytes: number }>();
  private readonly imageQueue: FairQueue<number>;

  constructor(
    private readonly limits: UploadLimits,
    private readonly settings: AdmissionSettings,
  ) {
    this.imageQueue = new FairQueue(settings.imageConcurrency);
  }

  /** Bytes of uploads arriving or being processed on this instance. */
  get temporaryBytes(): number {
    return this.tempBytes;
  }

  /** Before the body is read: refuses at once, or admits the upload until its ticket is released. */
  async admit(userId: number): Promise<UploadTicket> {
    const person = this.people.get(userId) ?? { uploads: 0, bytes: 0 };
    if (person.uploads >= this.settings.inFlightPerUser) {
      throw new HttpError(429, `at most ${this.settings.inFlightPerUser} uploads at once; wait for one to finish`, {
        code: 'rate_limited',
        headers: { 'retry-after': String(IN_FLIGHT_RETRY_SECONDS) },
      });
    }
    if (this.tempBytes >= this.settings.tempMaxBytes) throw this.temporaryAreaFull();
    // Counted before the database is asked, so that concurrent requests cannot all slip in.
    person.uploads++;
    this.people.set(userId, person);
    try {
      const { storedBytes } = await this.limits.admit(userId);
      return new UploadTicket(this, userId, person, storedBytes);
    } catch (error) {
      this.leave(userId, person, 0);
      throw error;
    }
  }

  /**
   * @internal For UploadTicket. The person's uploads arriving together count toward their quota;
   * an upload arriving alone is judged by what it stores, once processed (stripping may shrink it).
   */
  arrive(person: { bytes: number }, storedBytes: number, ownBytes: number, bytes: number): void {
    if (this.tempBytes + bytes > this.settings.tempMaxBytes) throw this.temporaryAreaFull();
    const arrivingTogether = person.bytes > ownBytes;
    if (arrivingTogether && storedBytes + person.bytes + bytes > this.settings.userQuotaBytes)
      throw quotaExceeded(this.settings.userQuotaBytes, storedBytes);
    this.tempBytes += bytes;
    person.bytes += bytes;
  }

  /** @internal For UploadTicket. */
  leave(userId: number, person: { uploads: number; bytes: number }, bytes: number): void {
    this.tempBytes -= bytes;
    person.bytes -= bytes;
    if (--person.uploads === 0) this.people.delete(userId);
  }

  /** @internal For UploadTicket. */
  async processImage(
    userId: number,
    work: () => Promise<ProcessedImage | ImageRefusal>,
  ): Promise<{ image: ProcessedImage | ImageRefusal; imageMs: number }> {
    const result = await this.imageQueue.run(userId, async () => {
      const started = performance.now();
      const image = await work();
      return { image, imageMs: performance.now() - started };
    });
    if ('refused' in result.image) await this.limits.recordRefused(userId, result.imageMs);
    return result;
  }

  /** Images waiting for their turn in the fair queue. */
  get imagesWaiting(): number {
    return this.imageQueue.waitingCount;
  }

  get maxSeconds(): number {
    return this.settings.maxSeconds;
  }

  private temporaryAreaFull(): HttpError {
    return new HttpError(503, 'the server is receiving too many uploads; try again shortly', {
      code: 'service_unavailable',
      headers: { 'retry-after': String(TEMP_FULL_RETRY_SECONDS) },
    });
  }
}

/** One admitted upload: what it holds on this instance, until `release()`. */
export class UploadTicket {
  private bytes = 0;
  private released = false;

  constructor(
    private readonly admission: UploadAdmission,
    private readonly userId: number,
    private readonly person: { uploads: number; bytes: number },
    private readonly storedBytes: number,
  ) {}

  /** Counts bytes as they arrive; throws (503, or 413 quota_exceeded) when they do not fit. */
  arrive(bytes: number): void {
    this.admission.arrive(this.person, this.storedBytes, this.bytes, bytes);
    this.bytes += bytes;
  }

  /**
   * `receiving` if it settles within UPLOAD_MAX_SECONDS of admission, else 408; what it receives
   * late is passed to `discard`.
   */
  async withinDeadline<T>(receiving: Promise<T>, discard: (late: T) => Promise<void>): Promise<T> {
    const seconds = this.admission.maxSeconds;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        receiving.then(discard, () => {}).catch(() => {});
        reject(new HttpError(408, `the upload did not arrive within ${seconds} s`, { code: 'request_timeout' }));
      }, seconds * 1000);
    });
    try {
      return await Promise.race([receiving, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs the image work in this person's turn, timed toward their hourly image budget (refused or not). */
  processImage(work: () => Promise<ProcessedImage | ImageRefusal>) {
    return this.admission.processImage(this.userId, work);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.admission.leave(this.userId, this.person, this.bytes);
  }
}
