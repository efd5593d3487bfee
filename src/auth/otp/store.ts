/** A pending challenge as a store returns it. */
export interface StoredChallenge {
  /** Distinguishes this challenge from one that replaces it for the same number. */
  id: string;
  codeHash: Uint8Array;
  /** The name given when the code was requested: a new user gets it. */
  name: string;
  attempts: number;
}

/**
 * Where pending OTP challenges live: the database (default) or Redis. At most one challenge per
 * number. The compare-and-consume logic lives in OtpService; each store makes its two writes
 * (`consume`, `recordFailure`) atomic and conditional on the challenge `id` still being current.
 */
export interface ChallengeStore {
  /** Stores a challenge for `phoneNumber`, replacing any pending one, expiring after `ttlMs`. */
  replace(phoneNumber: string, challenge: Omit<StoredChallenge, 'attempts'>, ttlMs: number): Promise<void>;
  /** The unexpired challenge with fewer than `maxAttempts` failures, or null. */
  find(phoneNumber: string, maxAttempts: number): Promise<StoredChallenge | null>;
  /** Deletes challenge `id` if it is still pending and usable; true if this call deleted it. */
  consume(phoneNumber: string, id: string, maxAttempts: number): Promise<boolean>;
  /** Counts a wrong code against challenge `id`, deleting it once `maxAttempts` is reached; true when this call deleted it. */
  recordFailure(phoneNumber: string, id: string, maxAttempts: number): Promise<boolean>;
  /** Removes expired challenges (Redis expires them itself); returns how many. */
  deleteExpired(): Promise<number>;
}
