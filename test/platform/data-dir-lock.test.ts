import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DataDirInUse, lockDataDir } from '../../src/platform/db/data-dir-lock.ts';
import { tempDir } from '../support/backends.ts';

const root = tempDir('cheershare-lock-');
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const dataDir = () => join(root, `data${n++}`);

function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid;
}

test('the lock file sits beside the directory, names this process, and is removed on release', async () => {
  const dir = dataDir();
  const release = await lockDataDir(dir);
  assert.deepEqual(JSON.parse(readFileSync(`${dir}.lock`, 'utf8')), { pid: process.pid, host: hostname() });
  assert.equal(existsSync(dir), false, 'the directory itself is left for the database to create');
  release();
  assert.equal(existsSync(`${dir}.lock`), false);
  (await lockDataDir(dir))();
});

test('a directory this process holds cannot be opened twice', async () => {
  const dir = dataDir();
  const release = await lockDataDir(dir);
  await assert.rejects(lockDataDir(dir), DataDirInUse);
  release();
});

test('a live holder: refused with the directory, the pid and the lock file named; its lock is left alone', async () => {
  const dir = dataDir();
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  try {
    const content = JSON.stringify({ pid: holder.pid, host: hostname() });
    writeFileSync(`${dir}.lock`, content);
    await assert.rejects(lockDataDir(dir), (error: Error) => {
      assert.ok(error instanceof DataDirInUse);
      assert.equal(
        error.message,
        `DATA_DIR ${dir} is in use by process ${holder.pid}; if that process is gone, remove ${dir}.lock`,
      );
      return true;
    });
    assert.equal(readFileSync(`${dir}.lock`, 'utf8'), content);
  } finally {
    holder.kill('SIGKILL');
  }
});

test('a holder on another host cannot be checked, so it counts as live', async () => {
  const dir = dataDir();
  writeFileSync(`${dir}.lock`, JSON.stringify({ pid: 1, host: 'elsewhere' }));
  await assert.rejects(lockDataDir(dir), /in use by process 1 on host elsewhere/);
});

test('a lock left by a dead process, or half-written, is taken over', async () => {
  for (const content of [JSON.stringify({ pid: deadPid(), host: hostname() }), '{"pid":']) {
    const dir = dataDir();
    writeFileSync(`${dir}.lock`, content);
    const release = await lockDataDir(dir);
    assert.equal(JSON.parse(readFileSync(`${dir}.lock`, 'utf8')).pid, process.pid);
    release();
  }
});

test('processes racing for the same dead lock: exactly one gets it', async () => {
  const dir = dataDir();
  writeFileSync(`${dir}.lock`, JSON.stringify({ pid: deadPid(), host: hostname() }));
  const script = `
    import { lockDataDir } from ${JSON.stringify(new URL('../../src/platform/db/data-dir-lock.ts', import.meta.url).href)};
    try { await lockDataDir(${JSON.stringify(dir)}); console.log('locked'); setTimeout(() => {}, 60000); }
    catch (error) { console.log(error.name); }`;
  const racers = Array.from({ length: 4 }, () =>
    spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  const outcomes = await Promise.all(
    racers.map(
      (racer) =>
        new Promise<string>((resolve) => {
          let output = '';
          racer.stdout.setEncoding('utf8').on('data', (chunk: string) => {
            output += chunk;
            if (output.includes('\n')) resolve(output.trim());
          });
        }),
    ),
  );
  // The winner stays alive until everyone has tried: a dead winner's lock could be taken over again.
  for (const racer of racers) racer.kill('SIGKILL');
  assert.deepEqual(outcomes.sort(), ['DataDirInUse', 'DataDirInUse', 'DataDirInUse', 'locked'], outcomes.join(', '));
});
