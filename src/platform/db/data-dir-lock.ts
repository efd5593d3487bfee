import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRunning } from '../process.ts';

/** Another live process has the embedded database open. */
export class DataDirInUse extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
    readonly lockFile: string,
  ) {
    const where = holder.host === hostname() ? '' : ` on host ${holder.host}`;
    super(`DATA_DIR ${dataDir} is in use by process ${holder.pid}${where}; if that process is gone, remove ${lockFile}`);
    this.name = 'DataDirInUse';
  }
}

interface LockHolder {
  pid: number;
  host: string;
}

/** Lock files this process holds; any other naming our pid was left by an earlier process that had it. */
const heldHere = new Set<string>();

/** A takeover that crashed half-way leaves its marker behind; past this age it is ignored. */
const STALE_TAKEOVER_MS = 10_000;

/**
 * Locks an embedded database's directory for this process, as postmaster.pid does for a
 * PostgreSQL server: PGlite has no lock of its own, and two processes writing one cluster lose
 * data. The lock file sits beside the directory (`<DATA_DIR>.lock`), so that a fresh directory can
 * still be filled with the template cluster in one rename. A lock whose process is no longer
 * running on this host is taken over. Returns the function that releases it.
 */
export async function lockDataDir(dataDir: string): Promise<() => void> {
  const directory = resolve(dataDir);
  const lockFile = `${directory}.lock`;
  const me: LockHolder = { pid: process.pid, host: hostname() };
  if (heldHere.has(lockFile)) throw new DataDirInUse(directory, me, lockFile);
  for (let attempt = 0; ; attempt++) {
    if (createExclusive(lockFile, me)) break;
    const holder = readHolder(lockFile);
    if (holder === undefined) continue; // released between our create and our read
    if (isAlive(holder)) throw new DataDirInUse(directory, holder, lockFile);
    if (await takeOver(lockFile, holder, me)) break;
    // Another process is taking the same dead lock over: see who ends up with it.
    if (attempt >= 50) throw new DataDirInUse(directory, holder, lockFile);
    await sleep(100);
  }
  heldHere.add(lockFile);
  return () => {
    heldHere.delete(lockFile);
    const holder = readHolder(lockFile);
    if (holder?.pid === me.pid && holder.host === me.host) rmSync(lockFile, { force: true });
  };
}

function createExclusive(path: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readHolder(path: string): LockHolder | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const { pid, host } = JSON.parse(text) as Partial<LockHolder>;
    if (typeof pid === 'number' && typeof host === 'string') return { pid, host };
  } catch {
    // Written half-way by a process that died mid-write: nobody holds it.
  }
  return { pid: 0, host: hostname() };
}

/**
 * Only a process on this host can be checked. Our own pid counts as dead: it was a process before
 * a restart (in a container, the server is often pid 1 every time).
 */
function isAlive({ pid, host }: LockHolder): boolean {
  if (host !== hostname()) return true;
  if (pid === process.pid || pid <= 0) return false;
  return isRunning(pid);
}

/**
 * Replaces a dead holder's lock with ours. Removing and re-creating the file is not atomic, so a
 * takeover first claims `<lock>.takeover` exclusively: of two processes finding the same dead lock,
 * one takes it over and the other then finds a live holder.
 */
async function takeOver(lockFile: string, dead: LockHolder, me: LockHolder): Promise<boolean> {
  const marker = `${lockFile}.takeover`;
  if (!createExclusive(marker, me)) {
    const age = Date.now() - (statSync(marker, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (age > STALE_TAKEOVER_MS) rmSync(marker, { force: true });
    return false;
  }
  try {
    const holder = readHolder(lockFile);
    if (holder !== undefined && (holder.pid !== dead.pid || holder.host !== dead.host)) return false;
    rmSync(lockFile, { force: true });
    return createExclusive(lockFile, me);
  } finally {
    rmSync(marker, { force: true });
  }
}
