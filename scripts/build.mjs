// Builds dist/main.js: the server as one ES module bundle of src/ (esbuild; about 0.1 s), with the
// packages in node_modules left as imports. `npm start` runs it (prestart builds it first), and
// so does production (`node dist/main.js`). Type checking is `npm run typecheck`'s job, not this.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
rmSync(join(root, 'dist'), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['src/main.ts'],
  outfile: 'dist/main.js',
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
