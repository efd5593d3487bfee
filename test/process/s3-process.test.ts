import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { buildTestApp } from '../support/app.ts';
import { databaseBackends, tempDir } from '../support/backends.ts';
import { png } from '../support/images.ts';
import { uploadForm } from '../support/multipart.ts';
import { startMoto, type Moto } from '../support/moto.ts';
import { runProcess, startServerProcess } from '../support/server-process.ts';
import { createSignedInUser } from '../support/users.ts';

// STORAGE=s3 at start-up and when the bucket goes away: a missing bucket stops the process naming
// it, the secret key appears in no output, and a bucket that stops answering is a 503.
const SECRET = 'very-secret-key-that-must-not-be-logged';
let moto: Moto;
const dirs: string[] = [];
before(async () => {
  moto = await startMoto();
});
after(async () => {
  await moto.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function env(bucket: string): Record<string, string> {
  const dataDir = tempDir('cheershare-s3-start-');
  dirs.push(dataDir);
  return { ...moto.env(bucket), S3_SECRET_ACCESS_KEY: SECRET, DATA_DIR: dataDir, LOG_LEVEL: 'debug' };
}

test('a missing bucket stops start-up with exit code 1 naming it', async () => {
  const child = runProcess(env('no-such-bucket-anywhere'));
  assert.equal(await child.exited, 1);
  const output = JSON.stringify(child.logs) + child.stderr();
  assert.match(output, /bucket \\?"no-such-bucket-anywhere\\?" does not exist/);
  assert.ok(!output.includes(SECRET), 'the secret key is not in the output');
});

test('with the bucket there the server starts, and logs no secret', async () => {
  const server = await startServerProcess(env(await moto.createBucket()));
  assert.equal((await fetch(`${server.url}/uploads/00000000-0000-0000-0000-000000000000.png`)).status, 404);
  assert.equal(await server.stop(), 0);
  assert.ok(!(JSON.stringify(server.logs) + server.stderr()).includes(SECRET));
});

test('a bucket that stops answering turns uploads and file reads into 503, not 500', async () => {
  const own = await startMoto();
  const t = await buildTestApp(databaseBackends[0]!, own.env(await own.createBucket()));
  try {
    const { headers } = await createSignedInUser(t.deps.db);
    const form = uploadForm(png(1000), new Date().toISOString().slice(0, 10));
    const upload = () =>
      t.app.inject({ method: 'POST', url: '/upload-creative', headers: { ...headers, ...form.headers }, payload: form.body });
    const stored = await upload();
    assert.equal(stored.statusCode, 201, stored.body);
    const url = stored.json().creative.creative_url as string;
    await own.stop();
    // Larger than one multipart part: the rest of the body is still read after the bucket failed.
    const large = uploadForm(png(6 * 1024 * 1024), new Date().toISOString().slice(0, 10));
    const uploadLarge = () =>
      t.app.inject({ method: 'POST', url: '/upload-creative', headers: { ...headers, ...large.headers }, payload: large.body });
    for (const res of [await t.app.inject(url), await upload(), await uploadLarge()]) {
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(res.json().code, 'service_unavailable');
      assert.ok(res.headers['retry-after']);
    }
  } finally {
    await t.close();
  }
});
