import { auditTrail } from '../platform/audit.ts';

/** Sign-in events, documented in the README (Operations: audit events). */
export const auditAuth = auditTrail<{
  /** A code was verified and a token issued; `new` when the number had no account before. */
  signed_in: { user_id: number; new: boolean };
  /** One token revoked, or with `all` every token of the person (`revoked` says how many). */
  logged_out: { user_id: number; all: boolean; revoked: number };
  /** OTP_MAX_ATTEMPTS wrong codes destroyed a number's pending code; the number masked. */
  otp_locked: { phone_number: string; attempts: number };
}>();
