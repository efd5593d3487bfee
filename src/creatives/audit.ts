import { auditTrail } from '../platform/audit.ts';

/** How an upload reached the server. */
export type UploadChannel = 'multipart' | 'tus';

/** Creative events, documented in the README (Operations: audit events). */
export const auditCreatives = auditTrail<{
  creative_stored: { user_id: number; creative_id: number; bytes: number; content_type: string; via: UploadChannel };
  creative_deleted: { user_id: number; creative_id: number };
  /**
   * An upload refused, with the error code its client was told (not `code`: the logger redacts that
   * name, as an OTP's); no user when the token was missing or invalid.
   */
  upload_refused: { user_id: number | null; error_code: string; status: number; via: UploadChannel };
}>();
