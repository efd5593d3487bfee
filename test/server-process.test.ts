import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { tempDir } from './support/backends.ts';
import { startServerProcess } from './support/server-process.ts';

test('npm start on the embedded default serves /healthz and /readyz, stops on SIGTERM with exit 0', async () => {
  const dataDir = tempDir();
  const uploadDir = tempDir();
  try {
    const server = await startServerProcess({ DATA_DIR: dataDir, UPLOAD_DIR: uploadDir });
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    assert.equal(await server.stop('SIGTERM'), 0);
    assert.ok(server.logs.some((line) => line.msg === 'server stopped'));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(uploadDir, { recursive: true, force: true });
  }
});
