import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rmdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
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
    await copyTree(template, staging);
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

/**
 * Copies a directory tree, many files at a time: a cluster is about a thousand small files, and
 * creating them one after another (as fs.cp does) takes over half a second.
 */
async function copyTree(from: string, to: string, parallel = 16): Promise<void> {
  const entries = await readdir(from, { withFileTypes: true, recursive: true });
  const path = (entry: { parentPath: string; name: string }) => relative(from, join(entry.parentPath, entry.name));
  await mkdir(to);
  // Parents sort before their children.
  for (const dir of entries
    .filter((entry) => entry.isDirectory())
    .map(path)
    .sort())
    await mkdir(join(to, dir));
  const files = entries.filter((entry) => entry.isFile()).map(path);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++]!;
      await copyFile(join(from, file), join(to, file));
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}
