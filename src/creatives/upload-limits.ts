import { statfs } from 'node:fs/promises';
import type { Database, Queryable } from '../platform/db/database.ts';
import { HttpError } from '../platform/http/errors.ts';
import { HOUR_MS } from '../platform/calendar.ts';

export interface UploadLimitSettings {
  perUserPerHour: number;
  userQuotaBytes: number;
  /** Local storage only: the directory files are written to and the free space to keep there. */
  disk?: { directory: string; minFreeBytes: number };
}

/**
 * UPLOADS_PER_USER_PER_HOUR, USER_QUOTA_BYTES and MIN_FREE_DISK_BYTES. The counts live in the
 * database, so they hold across instances; only accepted uploads are recorded, so a refused one
 * counts toward nothing, and deleting a creative frees its bytes.
 */
export class UploadLimits {
  constructor(
    private readonly db: Database,
    private readonly settings: UploadLimitSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** Before the body is read: refuses at once a person at a limit, or a nearly full disk. */
  async admit(userId: number): Promise<void> {
    // The smallest file there is must still fit.
    await this.check(this.db, userId, 1);
    const disk = this.settings.disk;
    if (disk) {
      const stats = await statfs(disk.directory);
      if (stats.bavail * stats.bsize < disk.minFreeBytes) {
        throw new HttpError(507, 'the server is running out of storage; try again later', { code: 'insufficient_storage' });
      }
    }
  }

  /**
   * Runs `insert` (the creative's row) only if a file of `sizeBytes` still fits, and records the
   * upload with it. One person's uploads are serialised on their user row, so concurrent uploads
   * through any instance cannot overshoot either limit.
   */
  async record<T>(userId: number, sizeBytes: number, insert: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE', [userId]);
      await this.check(tx, userId, sizeBytes);
      const result = await insert(tx);
      await tx.query('INSERT INTO recent_uploads (user_id, uploaded_at) VALUES ($1, $2)', [userId, new Date(this.now())]);
      return result;
    });
  }

  /** Forgets uploads older than the hourly window; returns how many. */
  async prune(): Promise<number> {
    const { rowCount } = await this.db.query('DELETE FROM recent_uploads WHERE uploaded_at <= $1', [
      new Date(this.now() - HOUR_MS),
    ]);
    return rowCount;
  }

  private async check(db: Queryable, userId: number, sizeBytes: number): Promise<void> {
    const { perUserPerHour, userQuotaBytes } = this.settings;
    const now = this.now();
    // `blocking` is the upload that must leave the window before another fits: the limit-th newest.
    const { rows } = await db.query<{ blocking: Date | null; used: number }>(
      `SELECT
         (SELECT uploaded_at FROM recent_uploads WHERE user_id = $1 AND uploaded_at > $2
          ORDER BY uploaded_at DESC OFFSET $3 LIMIT 1) AS blocking,
         (SELECT coalesce(sum(size_bytes), 0) FROM creatives WHERE user_id = $1)::float8 AS used`,
      [userId, new Date(now - HOUR_MS), perUserPerHour - 1],
    );
    const { blocking, used } = rows[0]!;
    if (blocking) {
      const retryAfter = Math.max(1, Math.ceil((blocking.getTime() + HOUR_MS - now) / 1000));
      throw new HttpError(429, `at most ${perUserPerHour} uploads an hour; try again later`, {
        code: 'rate_limited',
        headers: { 'retry-after': String(retryAfter) },
      });
    }
    if (used + sizeBytes > userQuotaBytes) {
      throw new HttpError(413, `this upload would exceed your storage quota of ${userQuotaBytes} bytes (${used} in use)`, {
        code: 'quota_exceeded',
      });
    }
  }
}
