import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rmdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMigrations, MIGRATIONS_DIR, Migrator } from './migrate.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The cluster scripts/pglite-template.mjs makes at install time: initialised and migrated. Keyed by
 * PGlite's version and by the migration files, so that after a change to either it is not used.
 */
export function templateDirectory(migrationsDir = MIGRATIONS_DIR): string {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as {
    version: string;
  };
  const migrations = createHash('sha256');
  for (const file of readdirSync(migrationsDir).sort()) {
    migrations
      .update(`${file}\0`)
      .update(readFileSync(join(migrationsDir, file)))
      .update('\0');
  }
  return join(ROOT, 'node_modules/.cache/cheershare', `pglite-${version}-${migrations.digest('hex').slice(0, 16)}`);
}

/**
 * Makes the template cluster unless it is there: initdb, then the migrations in `migrationsDir`.
 * Returns its path when it made it. Like a copy, it appears under its name only once complete.
 */
export async function makeTemplateCluster(
  template = templateDirectory(),
  migrationsDir = MIGRATIONS_DIR,
): Promise<string | undefined> {
  if (existsSync(join(template, 'PG_VERSION'))) return undefined;
  mkdirSync(dirname(template), { recursive: true });
  const staging = `${template}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    // Loaded here: the server imports this module for the copy alone, before PGlite is needed.
    const { openPglite } = await import('./pglite.ts');
    const db = await openPglite(staging, { fromTemplate: false });
    try {
      await new Migrator(db, loadMigrations(migrationsDir)).up();
    } finally {
      await db.close();
    }
    rmSync(template, { recursive: true, force: true });
    await rename(staging, template);
    return template;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
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
