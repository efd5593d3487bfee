import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from '../support/server-process.ts';

const run = promisify(execFile);
const SPEC_TARGETS = [
  'run/api',
  'db/psql',
  'db/migrations/new',
  'db/migrations/up',
  'db/migrations/down',
  'audit',
  'build/api',
  'creatives/backfill',
];

test('make help lists every target from its "## name: description" comment', async () => {
  const documented = [...readFileSync(join(ROOT, 'Makefile'), 'utf8').matchAll(/^## ([^:]+): (.+)$/gm)].map(
    ([, name, description]) => [name!.split(' ')[0]!, description!] as const,
  );
  const { stdout } = await run('make', ['--no-print-directory', 'help'], { cwd: ROOT });
  for (const [name, description] of documented) {
    assert.match(stdout, new RegExp(`^\\s+${name}\\b.*${description.replace(/[()]/g, '.')}$`, 'm'), name);
  }
  for (const target of SPEC_TARGETS) {
    assert.ok(
      documented.some(([name]) => name === target),
      `${target} is documented`,
    );
  }
});

test('each target of the spec runs an npm script; up asks to confirm first', async () => {
  for (const target of SPEC_TARGETS) {
    const { stdout } = await run('make', ['--no-print-directory', '-n', target, 'name=add-widgets'], { cwd: ROOT });
    assert.match(stdout, /^npm (start|run .+)$/m, `${target}: ${stdout}`);
  }
  const { stdout } = await run('make', ['--no-print-directory', '-n', 'db/migrations/up'], { cwd: ROOT });
  assert.ok(stdout.indexOf('Are you sure?') < stdout.indexOf('npm run migrate -- up'), stdout);
});
