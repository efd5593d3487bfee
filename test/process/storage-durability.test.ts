import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { tempDir } from '../support/backends.ts';

const strace = spawnSync('strace', ['-V']).status === 0;
const dir = tempDir('cheershare-durability-');
after(() => rmSync(dir, { recursive: true, force: true }));

test(
  'local storage: the file is fsynced before the rename publishes it, and the directory after',
  { skip: !strace && 'strace is not installed' },
  () => {
    const script = `
      import { LocalDiskStorage } from ${JSON.stringify(new URL('../../src/creatives/storage/local-disk.ts', import.meta.url).href)};
      const { storage } = await LocalDiskStorage.open(${JSON.stringify(dir)});
      const object = await storage.put(Buffer.from('bytes'), 'png');
      await object.commit();`;
    const traced = spawnSync(
      'strace',
      [
        '-f',
        '-e',
        'trace=openat,rename,renameat,renameat2,fsync,fdatasync',
        process.execPath,
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        script,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(traced.status, 0, traced.stderr);
    // Each line: "[pid N] call(args) = result"; the fd numbers tie the opens to the fsyncs.
    const calls = traced.stderr.split('\n').map((line) => line.replace(/^\[pid +\d+\] /, ''));
    const openedAs = (path: RegExp) =>
      calls.filter((line) => line.startsWith('openat(') && path.test(line)).map((line) => / = (\d+)$/.exec(line)?.[1]);
    const index = (predicate: (line: string) => boolean) => calls.findIndex(predicate);
    const temporaryFd = openedAs(/\.part", O_WRONLY/)[0];
    const rename = index((line) => /^rename(at2?)?\(.*\.part", .*\.png"/.test(line));
    // strace may split a call in two ("fsync(20 <unfinished ...>"): match on the call and its fd.
    const syncs = (fd: string | undefined) => (line: string) => new RegExp(`^f(data)?sync\\(${fd}[ )]`).test(line);
    const fileSync = index(syncs(temporaryFd));
    assert.ok(rename > 0 && fileSync > 0 && fileSync < rename, 'the bytes reach the disk before the name does');
    const directoryOpen = calls.findIndex((line, i) => i > rename && line.startsWith(`openat(AT_FDCWD, "${dir}", O_RDONLY`));
    const directoryFd = / = (\d+)$/.exec(calls[directoryOpen] ?? '')?.[1];
    assert.ok(directoryFd, 'the directory is opened after the rename');
    assert.ok(calls.slice(directoryOpen).some(syncs(directoryFd)), 'and fsynced: the rename itself is durable');
  },
);
