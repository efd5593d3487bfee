import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { processImage, type ImageRefusal, type ProcessedImage } from '../../src/creatives/images.ts';

export const MAX_PIXELS = 40_000_000;

/**
 * processImage on bytes written to a file of their own, as an upload is; the inputs and the
 * stripped originals are removed when the test file ends.
 */
export function imageProcessing() {
  const directory = mkdtempSync(join(tmpdir(), 'cheershare-images-'));
  const stripped: string[] = [];
  after(() => {
    rmSync(directory, { recursive: true, force: true });
    for (const path of stripped) rmSync(path, { force: true });
  });
  let files = 0;
  const processBytes = async (bytes: Buffer, maxPixels = MAX_PIXELS): Promise<ProcessedImage | ImageRefusal> => {
    const path = join(directory, `input-${files++}`);
    writeFileSync(path, bytes);
    const result = await processImage(path, { maxPixels });
    if (!('refused' in result)) stripped.push(result.original.path);
    return result;
  };
  return {
    processBytes,
    async accepted(bytes: Buffer, maxPixels = MAX_PIXELS): Promise<ProcessedImage> {
      const result = await processBytes(bytes, maxPixels);
      if ('refused' in result) assert.fail(`refused: ${result.message}`);
      return result;
    },
    async refused(bytes: Buffer, maxPixels = MAX_PIXELS): Promise<ImageRefusal> {
      const result = await processBytes(bytes, maxPixels);
      if (!('refused' in result)) assert.fail(`accepted a ${result.type.mime} of ${result.width}×${result.height}`);
      return result;
    },
  };
}

/** The stored original's bytes (its size as reported). */
export function original(image: ProcessedImage): Buffer {
  const bytes = readFileSync(image.original.path);
  assert.equal(bytes.length, image.original.size, "the size is the file's");
  return bytes;
}
