import type { PendingObject, Storage } from './storage/storage.ts';
import { VARIANT_NAMES, type ProcessedImage, type VariantName } from './images.ts';

/** What a creative's row records of its stored image. */
export interface StoredImage {
  creativeUrl: string;
  contentType: string;
  sizeBytes: number;
  width: number;
  height: number;
  variantUrls: Record<VariantName, string>;
  placeholder: string;
  /** Every object stored for it, the original first. */
  keys: string[];
}

/**
 * Stores the original as `<uuid>.<ext>` and the variants beside it as `<uuid>.<variant>.webp`,
 * all published or none: a failure removes what was already written.
 */
export async function storeImage(storage: Storage, image: ProcessedImage): Promise<StoredImage> {
  const pending: PendingObject[] = [];
  const committed: string[] = [];
  try {
    const original = await storage.put(image.original, image.type.extension);
    pending.push(original);
    const stem = original.key.slice(0, original.key.indexOf('.'));
    for (const name of VARIANT_NAMES) pending.push(await storage.put(image.variants[name], `${name}.webp`, stem));
    // The original last: until it is there, nothing names the variants.
    for (const object of [...pending.slice(1), original]) {
      await object.commit();
      committed.push(object.key);
    }
  } catch (error) {
    // Best effort: what cannot be removed now is swept later as a file no row names.
    await Promise.allSettled([...pending.map((object) => object.discard()), ...committed.map((key) => storage.delete(key))]);
    throw error;
  }
  const [original, ...variants] = pending as [PendingObject, ...PendingObject[]];
  return {
    creativeUrl: storage.url(original.key),
    contentType: image.type.mime,
    sizeBytes: original.size,
    width: image.width,
    height: image.height,
    variantUrls: Object.fromEntries(VARIANT_NAMES.map((name, i) => [name, storage.url(variants[i]!.key)])) as Record<
      VariantName,
      string
    >,
    placeholder: image.placeholder,
    keys: pending.map((object) => object.key),
  };
}
