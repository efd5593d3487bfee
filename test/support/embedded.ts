import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Migrator } from '../../src/platform/db/migrator.ts';
import { openPglite } from '../../src/platform/db/pglite.ts';
import { tempDir } from './backends.ts';

let template: Promise<string> | undefined;

/**
 * A new embedded-database directory, already initialised and migrated: a copy of one made once per
 * test process. A server started on it skips PGlite's initdb (about 2 s of CPU), which only the
 * tests of a fresh start need to pay.
 */
export async function migratedDataDir(): Promise<string> {
  template ??= (async () => {
    const dir = tempDir('cheershare-pglite-template-');
    const db = await openPglite(dir);
    try {
      await new Migrator(db).up();
    } finally {
      await db.close();
    }
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  })();
  const copy = join(tempDir('cheershare-pglite-'), 'data');
  cpSync(await template, copy, { recursive: true });
  return copy;
}
