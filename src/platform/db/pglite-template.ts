import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { rename, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../package-root.ts';
import { MIGRATIONS_DIR } from './migrator.ts';

const execFileAsync = promisify(execFile);

/**
 * The cluster scripts/pglite-template.mjs makes at install time: initialised and migrated. Keyed by
 * PGlite's version and by the migration files, so that after a change to either it is not used.
 */
export function templateDirectory(migrationsDir = MIGRATIONS_DIR): string {
  const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as {
    version: string;
  };
  const migrations = createHash('sha256');
  for (const file of readdirSync(migrationsDir).sort()) {
    migrations
      .update(`${file}\0`)
      .update(readFileSync(join(migrationsDir, file)))
      .update('\0');
  }
  return join(PACKAGE_ROOT, 'node_modules/.cache/cheershare', `pglite-${version}-${migrations.digest('hex').slice(0, 16)}`);
}

/**
 * Fills a missing or empty `dataDir` with a copy of the template cluster, which is much faster
 * than initdb and migrations; returns false (and leaves `dataDir` alone) when there is no template
 * or `dataDir` already has something in it. The copy appears under `dataDir` only once complete.
 */
export async function copyTemplateCluster(dataDir: string, template = templateDirectory()): Promise<boolean> {
  if (!existsSync(join(template, 'PG_VERSION'))) return false;
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) return false;
  const staging = `${dataDir}.template-${process.pid}`;
  try {
    // cp -R into a fresh name (into an existing one it would nest the copy).
    rmSync(staging, { recursive: true, force: true });
    // cp, a process of its own, copies the thousand small files in tens of milliseconds on another
    // core; copying them one by one from here took several times that, stalling whenever module
    // loading held the event loop.
    await execFileAsync('cp', ['-R', template, staging]);
    if (existsSync(dataDir)) await rmdir(dataDir);
    await rename(staging, dataDir);
    return true;
  } catch {
    // Another process got there first, the disk refused, or there is no cp: PGlite decides what to
    // do with dataDir (initdb when it is empty).
    return false;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
