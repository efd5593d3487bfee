import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isRunning } from '../platform/process.ts';

// `cheershare-image-<pid>-<uuid>`: the pid says whose it is, so a sweep never takes another
// running process's upload.
const TEMPORARY_IMAGE = /^cheershare-image-(\d+)-[0-9a-f-]{36}$/;

/** A new path in the system's temporary directory (TMPDIR), for an image on its way to being processed. */
export function temporaryImagePath(): string {
  return join(tmpdir(), `cheershare-image-${process.pid}-${randomUUID()}`);
}

/**
 * Removes the temporary images of processes that are gone (killed mid-upload); returns how many.
 * Not this process's own, even from an earlier process that had its pid: several apps may share
 * one process (the tests) and the directory.
 */
export async function sweepTemporaryImages(): Promise<number> {
  let swept = 0;
  for (const name of await readdir(tmpdir())) {
    const pid = Number(TEMPORARY_IMAGE.exec(name)?.[1] ?? NaN);
    if (Number.isNaN(pid) || isRunning(pid)) continue;
    await rm(join(tmpdir(), name), { force: true });
    swept++;
  }
  return swept;
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
