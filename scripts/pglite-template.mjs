// Makes the embedded-database cluster once, at install time (`postinstall`): initialised and
// migrated, so that the first start on a fresh DATA_DIR copies it instead of running initdb and the
// migrations, which are most of a cold start. src/cli/make-pglite-template.ts does the work, through tsx;
// without it (or on any failure) the first start runs initdb and the migrations as before, so this
// never fails an install.
import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import console from 'node:console';

try {
  const { tsImport } = await import('tsx/esm/api');
  const { makeTemplateCluster } = await tsImport('../src/cli/make-pglite-template.ts', import.meta.url);
  const made = await makeTemplateCluster();
  if (made) {
    // Templates of another PGlite version or migration set are never used again.
    for (const name of readdirSync(dirname(made))) {
      if (name !== basename(made)) rmSync(join(dirname(made), name), { recursive: true, force: true });
    }
    console.log(`pglite-template: made ${made}`);
  }
} catch (error) {
  console.warn(`pglite-template: skipped (${error instanceof Error ? error.message : error}); the first start will run initdb`);
}
