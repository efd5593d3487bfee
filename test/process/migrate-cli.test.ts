import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { formatName, loadMigrations } from '../../src/platform/db/migrator.ts';
import { databaseBackends, tempDir } from '../support/backends.ts';
import { ROOT, runProcess } from '../support/server-process.ts';

const MIGRATIONS = loadMigrations();

/** `npm run migrate -- ARGS` (through npm) or `src/cli/migrate.ts ARGS` directly, as a process. */
async function migrateCli(env: Record<string, string>, args: string[], { viaNpm = false } = {}) {
  if (!viaNpm) {
    const child = runProcess(env, { script: 'src/cli/migrate.ts', args });
    const code = await child.exited;
    return { code, stdout: child.logs.map((line) => line.msg), stderr: child.stderr() };
  }
  const child = spawn('npm', ['run', '--silent', 'migrate', '--', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number>((resolve) => child.once('exit', (exitCode) => resolve(exitCode ?? -1)));
  return { code, stdout: stdout.trimEnd().split('\n'), stderr };
}

// Each command is a process of its own (about a second of CPU): the tests run side by side.
describe('the migrate CLI', { concurrency: true }, () => {
  for (const backend of databaseBackends) {
    test(`on ${backend.name}: up N, status (through npm run), down`, async () => {
      const database = await backend.create();
      const env = { ...database.env } as Record<string, string>;
      const where = backend.name === 'pglite' ? `embedded database in ${env.DATA_DIR}` : 'PostgreSQL';
      try {
        const up = await migrateCli(env, ['up', '2']);
        assert.deepEqual(up, {
          code: 0,
          stdout: ['applied 000001_create-user-table', 'applied 000002_create-token-table'],
          stderr: '',
        });

        const status = await migrateCli(env, ['status'], { viaNpm: true });
        assert.equal(status.code, 0, status.stderr);
        assert.deepEqual(status.stdout, [
          `version 2 on ${where}`,
          ...MIGRATIONS.map((m) => `${m.version <= 2 ? 'applied' : 'pending'}  ${formatName(m)}`),
        ]);

        const down = await migrateCli(env, ['down']);
        assert.deepEqual(down, { code: 0, stdout: ['reverted 000002_create-token-table'], stderr: '' });
      } finally {
        await database.drop();
      }
    });
  }

  test('a dirty database is refused until force; then up applies the rest', async () => {
    const database = await databaseBackends[0]!.create();
    const env = { ...database.env } as Record<string, string>;
    try {
      // The CLI makes it: a fresh embedded database opened elsewhere starts at the latest migration.
      assert.equal((await migrateCli(env, ['up', '1'])).code, 0);
      const db = await database.open();
      try {
        await db.query('UPDATE schema_migrations SET dirty = true');
      } finally {
        await db.close();
      }
      const refused = await migrateCli(env, ['up']);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /^migrate: database is dirty at version 1: .*force/);
      assert.deepEqual(await migrateCli(env, ['force', '1']), {
        code: 0,
        stdout: ['version forced to 1, dirty flag cleared'],
        stderr: '',
      });
      const rest = await migrateCli(env, ['up']);
      assert.equal(rest.code, 0, rest.stderr);
      assert.deepEqual(
        rest.stdout,
        MIGRATIONS.filter((m) => m.version > 1).map((m) => `applied ${formatName(m)}`),
      );
    } finally {
      await database.drop();
    }
  });

  test('a wrong command or count is a usage error (exit 2) that touches no database', async () => {
    const dir = tempDir();
    const dataDir = join(dir, 'never-created');
    try {
      const usages = [['sideways'], ['down', 'two'], ['up', '0'], ['force']];
      const results = await Promise.all(usages.map((args) => migrateCli({ DATA_DIR: dataDir }, args)));
      results.forEach((result, i) => {
        assert.equal(result.code, 2, `${usages[i]!.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, /^migrate: /);
      });
      assert.ok(!existsSync(dataDir), 'the embedded database was not created');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
