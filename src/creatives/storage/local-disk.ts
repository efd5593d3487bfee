import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { isRunning } from '../../platform/process.ts';
import {
  bodySize,
  isStoredName,
  nameFromUrl,
  storedUrl,
  type ByteRange,
  type ObjectBody,
  type PendingObject,
  type Storage,
  type StoredFile,
} from './storage.ts';

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
    const swept = await storage.sweepTemporaryFiles(true);
    return { storage, swept };
  }

  async put(body: ObjectBody, extension: string, stem: string = randomUUID()): Promise<PendingObject> {
    const key = `${stem}.${extension}`;
    if (!isStoredName(key)) throw new Error(`not a stored name: "${key}"`);
    const temporary = join(this.directory, temporaryName());
    const discard = () => rm(temporary, { force: true });
    try {
      // Flushed: the bytes reach the disk before the rename publishes the name.
      if (Buffer.isBuffer(body)) await writeFile(temporary, body, { flag: 'wx', flush: true });
      else await copyFlushed(body.path, temporary);
    } catch (error) {
      await discard();
      throw error;
    }
    const commit = async () => {
      const published = join(this.directory, key);
      try {
        await rename(temporary, published);
        // A rename is durable only once its directory is: without this, a crash could lose the
        // name of a file whose row is about to be recorded.
        await syncDirectory(this.directory);
      } catch (error) {
        await Promise.all([discard(), rm(published, { force: true })]);
        throw error;
      }
    };
    return { key, size: bodySize(body), commit, discard };
  }

  async delete(key: string): Promise<void> {
    if (!isStoredName(key)) throw new Error(`not a stored object key: "${key}"`);
    await rm(join(this.directory, key), { force: true });
  }

  readonly url = storedUrl;
  readonly keyFromUrl = nameFromUrl;

  async stat(name: string): Promise<StoredFile | undefined> {
    if (!isStoredName(name)) return undefined;
    const found = await stat(join(this.directory, name)).catch(ifMissing(undefined));
    if (!found?.isFile()) return undefined;
    // The same validator nginx gives the file (deploy/nginx/uploads-local.conf), so that a
    // client's cached copy stays valid whichever of the two serves it.
    const etag = `"${Math.floor(found.mtimeMs / 1000).toString(16)}-${found.size.toString(16)}"`;
    return { size: found.size, etag, modifiedAt: found.mtime };
  }

  async open(name: string, range: ByteRange): Promise<Readable | undefined> {
    if (!isStoredName(name)) return undefined;
    // Opened before the stream is made, so that a file deleted meanwhile is a 404, not a broken response.
    const handle = await open(join(this.directory, name)).catch(ifMissing(undefined));
    return handle?.createReadStream({ start: range.start, end: range.end });
  }

  async *list(): AsyncGenerator<{ name: string; modifiedAt: Date }> {
    for (const name of await readdir(this.directory)) {
      if (!isStoredName(name)) continue;
      const found = await stat(join(this.directory, name)).catch(ifMissing(undefined));
      if (found) yield { name, modifiedAt: found.mtime };
    }
  }

  async close(): Promise<void> {}

  /** Temporary files of writers that are gone (`before` does not matter: a writer's liveness is known). */
  async sweepLeftovers(): Promise<number> {
    return this.sweepTemporaryFiles(false);
  }

  /**
   * Removes temporary files whose writer is gone: this host's from a process no longer running
   * (at start-up also from an earlier process that had our pid, since we have not started writing
   * yet), and other hosts' once they have been idle for a day. Stored files never match the
   * temporary name.
   */
  private async sweepTemporaryFiles(atStartUp: boolean): Promise<number> {
    let swept = 0;
    for (const name of await readdir(this.directory)) {
      const match = TEMP_NAME.exec(name);
      if (!match) continue;
      const [, host, pid] = match as unknown as [string, string, string];
      const path = join(this.directory, name);
      const abandoned =
        host === HOST
          ? Number(pid) === process.pid
            ? atStartUp
            : !isRunning(Number(pid))
          : await idleLongerThan(path, FOREIGN_TEMP_MAX_IDLE_MS);
      if (abandoned) {
        await rm(path, { force: true });
        swept++;
      }
    }
    return swept;
  }
}

async function copyFlushed(source: string, destination: string): Promise<void> {
  await copyFile(source, destination, constants.COPYFILE_EXCL);
  const handle = await open(destination, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
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

/** For a file that may have been removed meanwhile: `value` if it is gone, the error otherwise. */
function ifMissing<T>(value: T): (error: NodeJS.ErrnoException) => T {
  return (error) => {
    if (error.code === 'ENOENT') return value;
    throw error;
  };
}
