import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { tempDir } from '../support/backends.ts';
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

describe('migrations from a deploy script (no terminal)', () => {
  const withoutTerminal = (command: string, args: string[], env: Record<string, string>) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      // stdin is /dev/null, as under a deploy script or CI.
      execFile(command, args, { cwd: ROOT, env: { ...cleanEnv(), ...env } }, (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
    });

  test('make db/migrations/up refuses naming CONFIRM=yes, and with it applies every migration', async () => {
    const dir = tempDir();
    try {
      const env = { DATA_DIR: join(dir, 'data') };
      const refused = await withoutTerminal('make', ['--no-print-directory', 'db/migrations/up'], env);
      assert.equal(refused.code, 2, 'make reports the failed confirm target');
      assert.match(refused.stderr, /no terminal to ask; run with CONFIRM=yes/);
      assert.ok(!existsSync(env.DATA_DIR), 'nothing was opened');

      const applied = await withoutTerminal('make', ['--no-print-directory', 'db/migrations/up', 'CONFIRM=yes'], env);
      assert.equal(applied.code, 0, applied.stderr);
      assert.match(applied.stdout, /applied 000001_create-user-table[\s\S]*applied 000003_create-creative/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('npm run migrate -- up --yes applies, down 1 --yes reverts one', async () => {
    const dir = tempDir();
    try {
      const env = { DATA_DIR: join(dir, 'data') };
      const up = await withoutTerminal('npm', ['run', '--silent', 'migrate', '--', 'up', '--yes'], env);
      assert.equal(up.code, 0, up.stderr);
      const applied = up.stdout.trim().split('\n');
      assert.equal(applied[0], 'applied 000001_create-user-table');
      const down = await withoutTerminal('npm', ['run', '--silent', 'migrate', '--', 'down', '1', '--yes'], env);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(down.stdout.trim(), applied.at(-1)!.replace('applied', 'reverted'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The environment without the variables that would point a command at another database. */
function cleanEnv(): Record<string, string> {
  const env = { ...process.env } as Record<string, string>;
  for (const name of ['DATABASE_URL', 'DATA_DIR', 'CONFIRM']) delete env[name];
  return env;
}
