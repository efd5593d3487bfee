import { randomBytes, randomUUID } from 'node:crypto';
import { generateOtp, hashOtp, otpHashesMatch } from './code.ts';
import type { ChallengeStore } from './store.ts';

export interface OtpSettings {
  secret: string;
  length: number;
  ttlSeconds: number;
  maxAttempts: number;
}

const NO_CODE_HASH = randomBytes(32);
const NO_CHALLENGE_ID = '00000000-0000-0000-0000-000000000000';

/** Issues and verifies one-time codes; the store only ever sees their HMAC. */
export class OtpService {
  constructor(
    readonly store: ChallengeStore,
    private readonly settings: OtpSettings,
  ) {}

  /**
   * Creates a challenge for the number (replacing any pending one) and returns the code to send:
   * a random one, or `fixedCode` (a test number's).
   */
  async issue(phoneNumber: string, name: string, fixedCode?: string): Promise<string> {
    const code = fixedCode ?? generateOtp(this.settings.length);
    const challenge = { id: randomUUID(), codeHash: hashOtp(this.settings.secret, phoneNumber, code), name };
    await this.store.replace(phoneNumber, challenge, this.settings.ttlSeconds * 1000);
    return code;
  }

  /**
   * Consumes the pending challenge if `code` is right and returns the name it was requested with;
   * null if there is none, it expired, it was used up, or the code is wrong (which counts an attempt).
   */
  async verify(phoneNumber: string, code: string): Promise<{ name: string } | null> {
    const { secret, maxAttempts } = this.settings;
    const candidate = hashOtp(secret, phoneNumber, code);
    const challenge = await this.store.find(phoneNumber, maxAttempts);
    // Without a challenge the same comparison and write happen, against a hash and an id that match
    // nothing: a wrong code takes the same time whether or not a code is pending for the number.
    const matches = otpHashesMatch(candidate, challenge?.codeHash ?? NO_CODE_HASH);
    if (!challenge || !matches) {
      await this.store.recordFailure(phoneNumber, challenge?.id ?? NO_CHALLENGE_ID, maxAttempts);
      return null;
    }
    // Two requests with the right code may both get here; only one of them deletes the challenge.
    const consumed = await this.store.consume(phoneNumber, challenge.id, maxAttempts);
    return consumed ? { name: challenge.name } : null;
  }
}
