import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PendingObject, Storage } from './storage.ts';

export const URL_PREFIX = '/uploads/';

// The original stored `<uuid><extension of the client's file name>`, so its files may end in
// .jpeg or .JPG; ours always end in jpg, png, gif or webp.
const STORED_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(?:jpe?g|png|gif|webp)$/i;

/** True for a name a stored creative can have; nothing else under UPLOAD_DIR is ever served or deleted. */
export function isStoredName(name: string): boolean {
  return STORED_NAME.test(name);
}

// Temporary files are `.upload-<host>~<pid>~<uuid>.part`: never a stored name, and they say who is
// writing them, so that an instance sharing the directory never sweeps another's upload in progress.
const TEMP_NAME = /^\.upload-(.*)~(\d+)~[0-9a-f-]{36}\.part$/;
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '_');
/** A temporary file from another host is abandoned once it has not grown for this long. */
const FOREIGN_TEMP_MAX_IDLE_MS = 24 * 60 * 60 * 1000;

function temporaryName(): string {
  return `.upload-${HOST}~${process.pid}~${randomUUID()}.part`;
}

/** Creatives as files in one directory. */
export class LocalDiskStorage implements Storage {
  private constructor(readonly directory: string) {}

  /** Creates the directory if needed and removes what crashed uploads left behind. */
  static async open(directory: string): Promise<{ storage: LocalDiskStorage; swept: number }> {
    const storage = new LocalDiskStorage(resolve(directory));
    await mkdir(storage.directory, { recursive: true });
    const swept = await storage.sweepTemporaryFiles();
    return { storage, swept };
  }

  async put(body: Readable, extension: string): Promise<PendingObject> {
    const key = `${randomUUID()}.${extension}`;
    if (!isStoredName(key)) throw new Error(`unsupported extension "${extension}"`);
    const temporary = join(this.directory, temporaryName());
    const discard = () => rm(temporary, { force: true });
    // flush: the bytes reach the disk before the rename publishes the name.
    const out = createWriteStream(temporary, { flags: 'wx', flush: true });
    try {
      await pipeline(body, out);
      const { size } = await stat(temporary);
      const commit = () =>
        rename(temporary, join(this.directory, key)).catch(async (error: unknown) => {
          await discard();
          throw error;
        });
      return { key, size, commit, discard };
    } catch (error) {
      // A body that fails at once can reject the pipeline while the file is still being opened:
      // removing it before the stream has closed would let the open create it afterwards.
      if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
      await discard();
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    if (!isStoredName(key)) throw new Error(`not a stored object key: "${key}"`);
    await rm(join(this.directory, key), { force: true });
  }

  url(key: string): string {
    return URL_PREFIX + key;
  }

  keyFromUrl(url: string): string | undefined {
    const name = /^\.?\/uploads\/([^/]+)$/.exec(url)?.[1];
    return name !== undefined && isStoredName(name) ? name : undefined;
  }

  /**
   * Removes temporary files whose writer is gone: this host's from a process no longer running
   * (or from an earlier process that had our pid, since we have not started writing yet), and
   * other hosts' once they have been idle for a day. Stored files never match the temporary name.
   */
  private async sweepTemporaryFiles(): Promise<number> {
    let swept = 0;
    for (const name of await readdir(this.directory)) {
      const match = TEMP_NAME.exec(name);
      if (!match) continue;
      const [, host, pid] = match as unknown as [string, string, string];
      const path = join(this.directory, name);
      const abandoned =
        host === HOST
          ? Number(pid) === process.pid || !isRunning(Number(pid))
          : await idleLongerThan(path, FOREIGN_TEMP_MAX_IDLE_MS);
      if (abandoned) {
        await rm(path, { force: true });
        swept++;
      }
    }
    return swept;
  }
}

async function idleLongerThan(path: string, ms: number): Promise<boolean> {
  // Gone already: its writer finished or gave up in the meantime.
  const modified = await stat(path).then(
    (s) => s.mtimeMs,
    () => Date.now(),
  );
  return Date.now() - modified > ms;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
