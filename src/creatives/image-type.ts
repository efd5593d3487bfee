/** The image types a creative may have, with the extension it is stored under. */
export const ACCEPTED_IMAGE_TYPES = [
  { mime: 'image/jpeg', extension: 'jpg' },
  { mime: 'image/png', extension: 'png' },
  { mime: 'image/gif', extension: 'gif' },
  { mime: 'image/webp', extension: 'webp' },
] as const;

export type ImageType = (typeof ACCEPTED_IMAGE_TYPES)[number];

/** How many leading bytes the detection looks at (file-type's own reasonable sample). */
export const DETECTION_SAMPLE_BYTES = 4100;

/** The accepted image type the bytes start with, decided by their content alone; undefined otherwise. */
export async function detectImageType(head: Uint8Array): Promise<ImageType | undefined> {
  // Loaded on the first upload rather than at start-up, where its forty modules add to a cold start.
  const { fileTypeFromBuffer } = await import('file-type');
  const detected = await fileTypeFromBuffer(head);
  // An animated PNG is a PNG: every PNG decoder shows at least its first frame.
  const mime = detected?.mime === 'image/apng' ? 'image/png' : detected?.mime;
  return ACCEPTED_IMAGE_TYPES.find((type) => type.mime === mime);
}
