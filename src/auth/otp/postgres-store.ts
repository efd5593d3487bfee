import type { Queryable } from '../../platform/db/database.ts';
import type { ChallengeStore, StoredChallenge } from './store.ts';

/** OTP challenges in the `otp_challenges` table, timed by the database clock. */
export class DatabaseChallengeStore implements ChallengeStore {
  constructor(private readonly db: Queryable) {}

  async replace(phoneNumber: string, challenge: Omit<StoredChallenge, 'attempts'>, ttlMs: number): Promise<void> {
    await this.db.query(
      `INSERT INTO otp_challenges (phone_number, id, code_hash, name, attempts, created_at, expires_at)
       VALUES ($1, $2, $3, $4, 0, now(), now() + make_interval(secs => $5))
       ON CONFLICT (phone_number) DO UPDATE SET
         id = EXCLUDED.id, code_hash = EXCLUDED.code_hash, name = EXCLUDED.name,
         attempts = 0, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at`,
      [phoneNumber, challenge.id, Buffer.from(challenge.codeHash), challenge.name, ttlMs / 1000],
    );
  }

  async find(phoneNumber: string, maxAttempts: number): Promise<StoredChallenge | null> {
    const { rows } = await this.db.query<{ id: string; code_hash: Uint8Array; name: string; attempts: number }>(
      `SELECT id, code_hash, name, attempts FROM otp_challenges
       WHERE phone_number = $1 AND expires_at > now() AND attempts < $2`,
      [phoneNumber, maxAttempts],
    );
    const row = rows[0];
    return row ? { id: row.id, codeHash: Buffer.from(row.code_hash), name: row.name, attempts: row.attempts } : null;
  }

  async consume(phoneNumber: string, id: string, maxAttempts: number): Promise<boolean> {
    // A concurrent DELETE or UPDATE of the same row makes this one wait and re-check the conditions.
    const { rowCount } = await this.db.query(
      `DELETE FROM otp_challenges
       WHERE phone_number = $1 AND id = $2 AND attempts < $3 AND expires_at > now()`,
      [phoneNumber, id, maxAttempts],
    );
    return rowCount === 1;
  }

  async recordFailure(phoneNumber: string, id: string, maxAttempts: number): Promise<boolean> {
    const { rows } = await this.db.query<{ attempts: number }>(
      'UPDATE otp_challenges SET attempts = attempts + 1 WHERE phone_number = $1 AND id = $2 RETURNING attempts',
      [phoneNumber, id],
    );
    if (!rows[0] || rows[0].attempts < maxAttempts) return false;
    // Concurrent wrong guesses may all pass the limit; only one of them deletes the row.
    const { rowCount } = await this.db.query('DELETE FROM otp_challenges WHERE phone_number = $1 AND id = $2', [phoneNumber, id]);
    return rowCount === 1;
  }

  async deleteExpired(): Promise<number> {
    const { rowCount } = await this.db.query('DELETE FROM otp_challenges WHERE expires_at <= now()');
    return rowCount;
  }
}
