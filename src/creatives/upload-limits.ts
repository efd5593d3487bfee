import { statfs } from 'node:fs/promises';
import type { Database, Queryable } from '../platform/db/database.ts';
import { HttpError } from '../platform/http/errors.ts';

const HOUR_MS = 60 * 60 * 1000;

export interface UploadLimitSettings {
  perUserPerHour: number;
  userQuotaBytes: number;
  imageSecondsPerUserPerHour: number;
  /** Local storage only: the directory files are written to and the free space to keep there. */
  disk?: { directory: string; minFreeBytes: number };
}

/**
 * UPLOADS_PER_USER_PER_HOUR, IMAGE_SECONDS_PER_USER_PER_HOUR, USER_QUOTA_BYTES and
 * MIN_FREE_DISK_BYTES. The counts live in the database, so they hold across instances. Every upload
 * that reached the image decoder is recorded with its processing time, accepted or refused (a
 * refusal before decoding counts toward nothing); deleting a creative frees its bytes.
 */
export class UploadLimits {
  constructor(
    private readonly db: Database,
    private readonly settings: UploadLimitSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Before the body is read: refuses at once a person at a limit, or a nearly full disk. Returns
   * the bytes the person has stored.
   */
  async admit(userId: number): Promise<{ storedBytes: number }> {
    // The smallest file there is must still fit.
    const storedBytes = await this.check(this.db, userId, 1);
    const disk = this.settings.disk;
    if (disk) {
      const stats = await statfs(disk.directory);
      if (stats.bavail * stats.bsize < disk.minFreeBytes) {
        throw new HttpError(507, 'the server is running out of storage; try again later', { code: 'insufficient_storage' });
      }
    }
    return { storedBytes };
  }

  /**
   * Runs `insert` (the creative's row) only if a file of `sizeBytes` still fits, and records the
   * upload with it. One person's uploads are serialised on their user row, so concurrent uploads
   * through any instance cannot overshoot either limit.
   */
  async record<T>(
    userId: number,
    upload: { sizeBytes: number; imageMs: number },
    insert: (tx: Queryable) => Promise<T>,
  ): Promise<T> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE', [userId]);
      // The image time is spent already: it was checked at admission, and is not again.
      await this.check(tx, userId, upload.sizeBytes, { imageTime: false });
      const result = await insert(tx);
      await this.recordImageWork(tx, userId, upload.imageMs);
      return result;
    });
  }

  /** An upload refused after its image was processed: it counts toward the hourly limits all the same. */
  async recordRefused(userId: number, imageMs: number): Promise<void> {
    await this.recordImageWork(this.db, userId, imageMs);
  }

  private async recordImageWork(db: Queryable, userId: number, imageMs: number): Promise<void> {
    await db.query('INSERT INTO recent_uploads (user_id, uploaded_at, image_ms) VALUES ($1, $2, $3)', [
      userId,
      new Date(this.now()),
      Math.ceil(imageMs),
    ]);
  }

  /** Forgets uploads older than the hourly window; returns how many. */
  async prune(): Promise<number> {
    const { rowCount } = await this.db.query('DELETE FROM recent_uploads WHERE uploaded_at <= $1', [
      new Date(this.now() - HOUR_MS),
    ]);
    return rowCount;
  }

  /** Throws at the first limit the person is at; returns the bytes they have stored. */
  private async check(db: Queryable, userId: number, sizeBytes: number, { imageTime } = { imageTime: true }): Promise<number> {
    const { perUserPerHour, imageSecondsPerUserPerHour } = this.settings;
    const now = this.now();
    // `blocking`: the upload that must leave the window before another fits (the limit-th newest).
    // `imageBlocking`: the newest upload whose leaving brings the hour's image time under budget.
    const { rows } = await db.query<{ blocking: Date | null; imageBlocking: Date | null }>(
      `SELECT
         (SELECT uploaded_at FROM recent_uploads WHERE user_id = $1 AND uploaded_at > $2
          ORDER BY uploaded_at DESC OFFSET $3 LIMIT 1) AS blocking,
         (SELECT uploaded_at FROM (
            SELECT uploaded_at, sum(image_ms) OVER (ORDER BY uploaded_at DESC ROWS UNBOUNDED PRECEDING) AS newer_ms
            FROM recent_uploads WHERE user_id = $1 AND uploaded_at > $2) AS spent
          WHERE newer_ms >= $4 ORDER BY uploaded_at DESC LIMIT 1) AS "imageBlocking"`,
      [userId, new Date(now - HOUR_MS), perUserPerHour - 1, imageSecondsPerUserPerHour * 1000],
    );
    const { blocking, imageBlocking } = rows[0]!;
    if (blocking) throw this.tooMany(`at most ${perUserPerHour} uploads an hour`, blocking, now);
    if (imageBlocking && imageTime)
      throw this.tooMany(`at most ${imageSecondsPerUserPerHour} s of image processing an hour`, imageBlocking, now);
    return this.checkQuota(db, userId, sizeBytes);
  }

  private tooMany(limit: string, blocking: Date, now: number): HttpError {
    const retryAfter = Math.max(1, Math.ceil((blocking.getTime() + HOUR_MS - now) / 1000));
    return new HttpError(429, `${limit}; try again later`, {
      code: 'rate_limited',
      headers: { 'retry-after': String(retryAfter) },
    });
  }

  /** Throws 413 quota_exceeded unless `sizeBytes` more fit; returns the bytes stored. */
  private async checkQuota(db: Queryable, userId: number, sizeBytes: number): Promise<number> {
    const { userQuotaBytes } = this.settings;
    const { rows } = await db.query<{ used: number }>(
      'SELECT coalesce(sum(size_bytes), 0)::float8 AS used FROM creatives WHERE user_id = $1',
      [userId],
    );
    const used = rows[0]!.used;
    if (used + sizeBytes > userQuotaBytes) throw quotaExceeded(userQuotaBytes, used);
    return used;
  }
}

export function quotaExceeded(quotaBytes: number, usedBytes: number): HttpError {
  return new HttpError(413, `this upload would exceed your storage quota of ${quotaBytes} bytes (${usedBytes} in use)`, {
    code: 'quota_exceeded',
  });
}
