import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cp, rename, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The empty cluster scripts/pglite-template.mjs makes at install time (same path, same key). */
export function templateDirectory(): string {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as {
    version: string;
  };
  return join(ROOT, 'node_modules/.cache/cheershare', `pglite-${version}`);
}

/**
 * Fills a missing or empty `dataDir` with a copy of the template cluster, which is much faster
 * than initdb; returns false (and leaves `dataDir` alone) when there is no template or `dataDir`
 * already has something in it. The copy appears under `dataDir` only once complete.
 */
export async function copyTemplateCluster(dataDir: string, template = templateDirectory()): Promise<boolean> {
  if (!existsSync(join(template, 'PG_VERSION'))) return false;
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) return false;
  const staging = `${dataDir}.template-${process.pid}`;
  try {
    await cp(template, staging, { recursive: true });
    if (existsSync(dataDir)) await rmdir(dataDir);
    await rename(staging, dataDir);
    return true;
  } catch {
    // Another process got there first, or the disk refused: PGlite decides what to do with dataDir.
    return false;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
