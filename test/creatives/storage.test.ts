import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LocalDiskStorage } from '../../src/creatives/storage/local-disk.ts';
import { tempDir } from '../support/backends.ts';

const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '_');
const temporary = (host: string, pid: number) => `.upload-${host}~${pid}~${randomUUID()}.part`;

describe('local disk storage', () => {
  const dirs: string[] = [];
  const freshDir = () => {
    const dir = tempDir('cheershare-storage-');
    dirs.push(dir);
    return dir;
  };
  after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  test('put stages the bytes under a temporary name; commit publishes them as <uuid>.<ext>, discard drops them', async () => {
    const { storage } = await LocalDiskStorage.open(freshDir());
    const bytes = Buffer.from('0123456789'.repeat(1000));

    const kept = await storage.put(bytes, 'png');
    assert.match(kept.key, /^[0-9a-f-]{36}\.png$/);
    assert.equal(kept.size, bytes.length);
    const [staged] = readdirSync(storage.directory);
    assert.match(staged!, /^\.upload-.*\.part$/);
    await kept.commit();
    assert.deepEqual(readdirSync(storage.directory), [kept.key]);
    assert.deepEqual(readFileSync(join(storage.directory, kept.key)), bytes);
    assert.equal(storage.url(kept.key), `/uploads/${kept.key}`);
    assert.equal(storage.keyFromUrl(storage.url(kept.key)), kept.key);
    assert.equal(storage.keyFromUrl(`./uploads/${kept.key}`), kept.key);
    for (const url of ['/uploads/../x.png', '/uploads/a/b.png', '/elsewhere/x.png', '/uploads/notes.txt']) {
      assert.equal(storage.keyFromUrl(url), undefined, url);
    }

    const dropped = await storage.put(bytes, 'gif');
    await dropped.discard();
    await dropped.discard();
    assert.deepEqual(readdirSync(storage.directory), [kept.key]);

    await storage.delete(kept.key);
    await storage.delete(kept.key);
    assert.deepEqual(readdirSync(storage.directory), []);
    await assert.rejects(storage.delete('../outside.png'), /not a stored object key/);
  });

  test('a file that vanished before it was stored leaves nothing behind', async () => {
    const { storage } = await LocalDiskStorage.open(freshDir());
    await assert.rejects(storage.put({ path: join(freshDir(), 'gone'), size: 10 }, 'png'), { code: 'ENOENT' });
    assert.deepEqual(readdirSync(storage.directory), []);
  });

  test('opening creates the directory and sweeps only temporary files whose writer is gone', async () => {
    const dir = join(freshDir(), 'nested', 'uploads');
    assert.equal((await LocalDiskStorage.open(dir)).swept, 0);

    const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
    const names = {
      deadWriter: temporary(HOST, deadPid),
      earlierProcessWithOurPid: temporary(HOST, process.pid),
      liveWriter: temporary(HOST, process.ppid),
      otherHostActive: temporary('other-host', 1234),
      otherHostAbandoned: temporary('other-host', 1234),
      stored: `${randomUUID()}.png`,
      unrelated: 'notes.txt',
      lookalike: '.upload-notes.part',
    };
    for (const name of Object.values(names)) writeFileSync(join(dir, name), 'x');
    utimesSync(join(dir, names.otherHostAbandoned), twoDaysAgo, twoDaysAgo);

    const { swept } = await LocalDiskStorage.open(dir);
    assert.equal(swept, 3);
    assert.deepEqual(
      readdirSync(dir).sort(),
      [names.liveWriter, names.otherHostActive, names.stored, names.unrelated, names.lookalike].sort(),
    );
  });
});
