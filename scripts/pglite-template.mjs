// Makes an empty embedded-database cluster once, at install time (`postinstall`), so that the first
// start on a fresh DATA_DIR copies it instead of running initdb, which is most of a cold start.
// The app looks for it where src/db/pglite-template.ts says; without it, it runs initdb as before,
// so this never fails an install.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import console from 'node:console';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

try {
  const { PGlite } = await import('@electric-sql/pglite');
  const { version } = JSON.parse(readFileSync(join(root, 'node_modules/@electric-sql/pglite/package.json'), 'utf8'));
  // Keyed by PGlite's version: another version's cluster is never used.
  const template = join(root, 'node_modules/.cache/cheershare', `pglite-${version}`);
  if (!existsSync(join(template, 'PG_VERSION'))) {
    mkdirSync(dirname(template), { recursive: true });
    const staging = `${template}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    await (await PGlite.create(staging)).close();
    rmSync(template, { recursive: true, force: true });
    // Published whole or not at all.
    renameSync(staging, template);
    console.log(`pglite-template: made ${template}`);
  }
} catch (error) {
  console.warn(`pglite-template: skipped (${error instanceof Error ? error.message : error}); the first start will run initdb`);
}
