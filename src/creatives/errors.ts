import type { ErrorCodes } from '../platform/http/errors.ts';

/** The error codes uploads and files add to the platform's, with the status each comes with. */
export const CREATIVES_ERROR_CODES = {
  file_too_large: { status: 413, description: 'the file is larger than MAX_UPLOAD_BYTES' },
  image_too_large: { status: 413, description: 'the image has more pixels than MAX_IMAGE_PIXELS' },
  quota_exceeded: { status: 413, description: 'the upload would pass the storage quota' },
  insufficient_storage: { status: 507, description: 'the server has no room to store the upload' },
  range_not_satisfiable: { status: 416, description: 'the requested range is outside the file' },
} as const satisfies ErrorCodes;
