import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

/** A uniformly random code of `length` digits, leading zeros included. */
export function generateOtp(length: number): string {
  // randomInt rejects biased values internally, so every code in [0, 10^length) is equally likely.
  return String(randomInt(0, 10 ** length)).padStart(length, '0');
}

/**
 * What is stored instead of the code: an HMAC keyed by APP_SECRET over the number and the code, so
 * a leaked table (or Redis dump) cannot be brute-forced offline without the secret, and a hash
 * cannot be replayed against another number.
 */
export function hashOtp(secret: string, phoneNumber: string, code: string): Buffer {
  return createHmac('sha256', secret).update(`${phoneNumber}\n${code}`).digest();
}

export function otpHashesMatch(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
