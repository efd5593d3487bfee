import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { databaseBackends, tempDir, type TestDatabase } from '../support/backends.ts';
import { GIF, png } from '../support/images.ts';
import { uploadForm } from '../support/multipart.ts';
import { seedSignedInUser } from '../support/seed.ts';
import { startServerProcess, type ServerProcess } from '../support/server-process.ts';
import type { SignedInUser } from '../support/users.ts';

const run = promisify(execFile);
const today = () => new Date().toISOString().slice(0, 10);
const MAX_UPLOAD_BYTES = 4 * 1024 * 1024;

for (const backend of databaseBackends) {
  describe(`real clients against a listening server on ${backend.name}`, () => {
    let database: TestDatabase;
    let user: SignedInUser;
    let server: ServerProcess;
    let uploadDir: string;
    let filesDir: string;
    /** The server's TMPDIR, where uploads are received before they are decoded and stored. */
    let temporaryDir: string;
    const receiving = () => readdirSync(temporaryDir).filter((name) => name.startsWith('cheershare-image-'));
    before(async () => {
      database = await backend.create();
      user = await seedSignedInUser(database);
      uploadDir = tempDir('cheershare-uploads-');
      filesDir = tempDir('cheershare-client-files-');
      temporaryDir = tempDir('cheershare-tmp-');
      server = await startServerProcess({
        ...database.env,
        UPLOAD_DIR: uploadDir,
        TMPDIR: temporaryDir,
        MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
      });
    });
    after(async () => {
      const code = await server?.stop('SIGTERM');
      await database?.drop();
      rmSync(uploadDir, { recursive: true, force: true });
      rmSync(filesDir, { recursive: true, force: true });
      rmSync(temporaryDir, { recursive: true, force: true });
      assert.equal(code, 0, server?.stderr());
      // Nothing a client sent was logged as a server error.
      assert.deepEqual(
        server.logs.filter((line) => line.level >= 50),
        [],
      );
    });

    /** The stored file named by a creative URL, and the same file fetched back over HTTP. */
    async function storedAndServed(url: string): Promise<{ stored: Buffer; served: Buffer; response: Response }> {
      const response = await fetch(`${server.url}${url}`);
      const served = Buffer.from(await response.arrayBuffer());
      return { stored: readFileSync(join(uploadDir, url.slice('/uploads/'.length))), served, response };
    }

    test('curl -F uploads in both field orders; the stored file comes back byte for byte', async () => {
      const bytes = png(1024 * 1024);
      const path = join(filesDir, 'photo.png');
      writeFileSync(path, bytes);
      const fields = { file: `file=@${path}`, date: `scheduled_at=${today()}` };
      for (const order of [
        [fields.file, fields.date],
        [fields.date, fields.file],
      ]) {
        const { stdout } = await run('curl', [
          '--silent',
          '--show-error',
          '--write-out',
          '\n%{http_code}',
          '--header',
          `Authorization: Bearer ${user.token}`,
          ...order.flatMap((field) => ['-F', field]),
          `${server.url}/upload-creative`,
        ]);
        const [body, status] = stdout.split('\n') as [string, string];
        assert.equal(status, '201', body);
        const { creative } = JSON.parse(body);
        assert.equal(creative.content_type, 'image/png');
        const { stored, served, response } = await storedAndServed(creative.creative_url);
        assert.equal(creative.size_bytes, stored.length);
        assert.deepEqual(served, stored);
        // Decoded and encoded again, losslessly: the same pixels, without the padding chunk.
        assert.deepEqual(await sharp(stored).raw().toBuffer(), await sharp(bytes).raw().toBuffer());
        assert.equal(response.headers.get('content-type'), 'image/png');
      }

      const textPath = join(filesDir, 'notes.png');
      writeFileSync(textPath, 'this is text');
      const { stdout } = await run('curl', [
        '-s',
        '-w',
        '\n%{http_code}',
        '-H',
        `Authorization: Bearer ${user.token}`,
        '-F',
        `file=@${textPath};type=image/png`,
        '-F',
        `scheduled_at=${today()}`,
        `${server.url}/upload-creative`,
      ]);
      assert.equal(stdout.split('\n')[1], '415');
    });

    test('fetch with FormData uploads in both field orders', async () => {
      for (const order of ['date-first', 'file-first']) {
        const form = new FormData();
        const file = new Blob([GIF], { type: 'image/gif' });
        if (order === 'file-first') form.append('file', file, 'tiny.gif');
        form.append('scheduled_at', today());
        if (order === 'date-first') form.append('file', file, 'tiny.gif');
        const res = await fetch(`${server.url}/upload-creative`, { method: 'POST', headers: user.headers, body: form });
        assert.equal(res.status, 201, order);
        const { creative } = (await res.json()) as { creative: { content_type: string; creative_url: string } };
        assert.equal(creative.content_type, 'image/gif');
        const { stored, served } = await storedAndServed(creative.creative_url);
        assert.deepEqual(served, stored);
        assert.equal((await sharp(stored).metadata()).format, 'gif');
      }

      const tooLarge = new FormData();
      tooLarge.append('scheduled_at', today());
      tooLarge.append('file', new Blob([png(MAX_UPLOAD_BYTES + 1)], { type: 'image/png' }), 'big.png');
      const res = await fetch(`${server.url}/upload-creative`, { method: 'POST', headers: user.headers, body: tooLarge });
      assert.equal(res.status, 413);
      assert.match(((await res.json()) as { error: string }).error, /larger than/);
    });

    test('a client that disconnects mid-upload leaves no temporary file and no error', async () => {
      const before = readdirSync(uploadDir).sort();
      const form = uploadForm(png(3 * 1024 * 1024), today());
      const socket = connect(server.port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(
        `POST /upload-creative HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${user.token}\r\n` +
          `Content-Type: ${form.headers['content-type']}\r\nContent-Length: ${form.body.length}\r\n\r\n`,
      );
      socket.write(form.body.subarray(0, 1024 * 1024));
      // Give the server time to start writing, then vanish.
      await waitFor(() => receiving().length > 0);
      socket.destroy();
      await waitFor(() => receiving().length === 0);
      assert.deepEqual(readdirSync(uploadDir).sort(), before);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    });
  });
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
