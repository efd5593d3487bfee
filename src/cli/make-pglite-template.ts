import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadMigrations, MIGRATIONS_DIR, Migrator } from '../platform/db/migrator.ts';
import { openPglite } from '../platform/db/pglite.ts';
import { templateDirectory } from '../platform/db/pglite-template.ts';

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
