import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { databaseBackends, tempDir } from '../support/backends.ts';
import { png } from '../support/images.ts';
import { uploadForm } from '../support/multipart.ts';
import { seedSignedInUser } from '../support/seed.ts';
import { startServerProcess } from '../support/server-process.ts';

const today = () => new Date().toISOString().slice(0, 10);

for (const backend of databaseBackends) {
  test(`a server killed mid-upload restarts with no temporary file and no row without its file (${backend.name})`, async () => {
    const database = await backend.create();
    const uploadDir = tempDir('cheershare-uploads-');
    // Uploads are received into TMPDIR, then decoded and stored.
    const temporaryDir = tempDir('cheershare-tmp-');
    const env = { ...database.env, UPLOAD_DIR: uploadDir, TMPDIR: temporaryDir, MAX_UPLOAD_BYTES: String(64 * 1024 * 1024) };
    try {
      const user = await seedSignedInUser(database);
      const first = await startServerProcess(env);

      // One upload completes before the crash.
      const done = uploadForm(png(200_000), today());
      const res = await fetch(`${first.url}/upload-creative`, {
        method: 'POST',
        headers: { ...done.headers, ...user.headers },
        body: done.body,
      });
      assert.equal(res.status, 201);
      const { creative } = (await res.json()) as {
        creative: { creative_url: string; variants: { thumb: string; feed: string } };
      };
      const kept = [creative.creative_url, creative.variants.thumb, creative.variants.feed]
        .map((url) => url.slice('/uploads/'.length))
        .sort();

      // Another is half sent when the server is killed.
      const form = uploadForm(png(32 * 1024 * 1024), today());
      const socket = connect(first.port, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(
        `POST /upload-creative HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${user.token}\r\n` +
          `Content-Type: ${form.headers['content-type']}\r\nContent-Length: ${form.body.length}\r\n\r\n`,
      );
      socket.write(form.body.subarray(0, 4 * 1024 * 1024));
      const temporary = await waitForTemporaryFile(temporaryDir);
      process.kill(first.pid, 'SIGKILL');
      await first.exited;
      socket.destroy();
      // The crash really left a partial file behind for the restart to deal with.
      assert.ok(existsSync(join(temporaryDir, temporary)));
      assert.ok(statSync(join(temporaryDir, temporary)).size > 0);

      const second = await startServerProcess(env);
      try {
        assert.deepEqual(readdirSync(uploadDir).sort(), kept);
        // (tsx keeps its cache in TMPDIR too.)
        assert.deepEqual(
          readdirSync(temporaryDir).filter((name) => name.startsWith('cheershare-image-')),
          [],
        );
        const swept = second.logs.find((line) => line.msg === 'removed temporary images of interrupted uploads');
        assert.equal(swept?.files, 1);

        const list = await fetch(`${second.url}/creatives`, { headers: user.headers });
        assert.equal(list.status, 200);
        const { creatives } = (await list.json()) as { creatives: { creative_url: string }[] };
        assert.deepEqual(
          creatives.map((c) => c.creative_url),
          [creative.creative_url],
        );
        for (const { creative_url: url } of creatives) {
          assert.equal((await fetch(`${second.url}${url}`)).status, 200, url);
        }
      } finally {
        assert.equal(await second.stop('SIGTERM'), 0, second.stderr());
      }
    } finally {
      await database.drop();
      rmSync(uploadDir, { recursive: true, force: true });
      rmSync(temporaryDir, { recursive: true, force: true });
    }
  });
}

/** The name of the first temporary upload file with some bytes in it. */
async function waitForTemporaryFile(dir: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = readdirSync(dir).find((name) => name.startsWith('cheershare-image-') && statSync(join(dir, name)).size > 0);
    if (found) return found;
    if (Date.now() > deadline) throw new Error('no temporary upload file appeared');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
