import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A new path in the system's temporary directory, for an image on its way to being processed. */
export function temporaryImagePath(): string {
  return join(tmpdir(), `cheershare-image-${process.pid}-${randomUUID()}`);
}

/** Streams `body` into a new file at `path`; on failure no file is left. */
export async function receiveToFile(body: Readable, path: string): Promise<number> {
  const out = createWriteStream(path, { flags: 'wx' });
  try {
    await pipeline(body, out);
    return out.bytesWritten;
  } catch (error) {
    // A body that fails at once can reject the pipeline while the file is still being opened:
    // removing it before the stream has closed would let the open create it afterwards.
    if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
    await rm(path, { force: true });
    throw error;
  }
}
