import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends } from '../support/backends.ts';
import { JPEG, png, WEBP } from '../support/images.ts';
import { uploadForm } from '../support/multipart.ts';
import { noisyJpeg } from '../support/photos.ts';
import { createSignedInUser, type SignedInUser } from '../support/users.ts';

const today = () => new Date().toISOString().slice(0, 10);

/** Sends `GET <path>` exactly as written (no client-side normalisation of `..`): status and body. */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    });
    let response = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (response += chunk));
    socket.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);
      resolve({ status, body: response.slice(response.indexOf('\r\n\r\n') + 4) });
    });
    socket.on('error', reject);
  });
}

for (const backend of databaseBackends) {
  describe(`GET /uploads/<name> and DELETE /creatives/:id on ${backend.name}`, () => {
    let t: TestApp;
    let port: number;
    let asha: SignedInUser;
    let ravi: SignedInUser;
    before(async () => {
      t = await buildTestApp(backend);
      asha = await createSignedInUser(t.deps.db, 'Asha');
      ravi = await createSignedInUser(t.deps.db, 'Ravi');
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      port = (t.app.server.address() as { port: number }).port;
    });
    after(() => t.close());

    /** The creative made of `bytes`, and the bytes stored for it (stripped and re-encoded). */
    async function uploaded(bytes: Buffer, user = asha): Promise<{ id: number; url: string; name: string; stored: Buffer }> {
      const form = uploadForm(bytes, today());
      const res = await t.app.inject({
        method: 'POST',
        url: '/upload-creative',
        headers: { ...form.headers, ...user.headers },
        payload: form.body,
      });
      assert.equal(res.statusCode, 201, res.body);
      const { id, creative_url: url } = res.json().creative;
      const name = url.slice('/uploads/'.length);
      return { id, url, name, stored: readFileSync(join(t.uploadDir, name)) };
    }

    test('the stored file is served byte for byte, with its type and caching headers', async () => {
      for (const [image, type] of [
        [png(5000), 'image/png'],
        [JPEG, 'image/jpeg'],
        [WEBP, 'image/webp'],
      ] as const) {
        const { url, stored: bytes } = await uploaded(image);
        // A public route: a stale token is ignored, not refused.
        const res = await t.app.inject({ url, headers: { authorization: 'Bearer AAAAAAAAAAAAAAAAAAAAAAAAAA' } });
        assert.equal(res.statusCode, 200);
        assert.deepEqual(res.rawPayload, bytes);
        assert.equal(res.headers['content-type'], type);
        assert.equal(res.headers['content-length'], String(bytes.length));
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
        assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
        assert.equal(res.headers['accept-ranges'], 'bytes');
        assert.ok(res.headers.etag, 'ETag');
      }
    });

    test('HEAD, ranges and If-None-Match work', async () => {
      const { url, stored: bytes } = await uploaded(await noisyJpeg(64, 64));
      const full = await t.app.inject(url);

      const head = await t.app.inject({ method: 'HEAD', url });
      assert.equal(head.statusCode, 200);
      assert.equal(head.headers['content-length'], String(bytes.length));
      assert.equal(head.headers['content-type'], 'image/jpeg');
      assert.equal(head.headers.etag, full.headers.etag);
      assert.equal(head.rawPayload.length, 0);

      const range = await t.app.inject({ url, headers: { range: 'bytes=100-199' } });
      assert.equal(range.statusCode, 206);
      assert.equal(range.headers['content-range'], `bytes 100-199/${bytes.length}`);
      assert.deepEqual(range.rawPayload, bytes.subarray(100, 200));

      const suffix = await t.app.inject({ url, headers: { range: 'bytes=-10' } });
      assert.equal(suffix.statusCode, 206);
      assert.deepEqual(suffix.rawPayload, bytes.subarray(-10));

      const unsatisfiable = await t.app.inject({ url, headers: { range: `bytes=${bytes.length}-${bytes.length + 1000}` } });
      assert.equal(unsatisfiable.statusCode, 416);

      const notModified = await t.app.inject({ url, headers: { 'if-none-match': String(full.headers.etag) } });
      assert.equal(notModified.statusCode, 304);
      assert.equal(notModified.rawPayload.length, 0);

      const changed = await t.app.inject({ url, headers: { 'if-none-match': 'W/"something-else"' } });
      assert.equal(changed.statusCode, 200);
    });

    test('anything that is not a stored file’s exact name is 404: no listing, redirect, traversal or temporary file', async () => {
      const { name } = await uploaded(png());
      const temporary = `.upload-host~1~${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}.part`;
      writeFileSync(join(t.uploadDir, temporary), png());
      writeFileSync(join(t.uploadDir, 'notes.txt'), 'not a creative');
      const paths = [
        '/uploads',
        '/uploads/',
        '/uploads//',
        `/uploads/${temporary}`,
        '/uploads/notes.txt',
        `/uploads/${name}/`,
        `/uploads//${name}`,
        `/uploads/./${name}`,
        `/uploads/${name.toUpperCase()}`,
        `/uploads/${name.replace('.png', '.jpg')}`,
        `/uploads/${name}.png`,
        `/uploads/${name}%00`,
        `/uploads/x/../${name}`,
        '/uploads/../package.json',
        '/uploads/..%2fpackage.json',
        '/uploads/%2e%2e/package.json',
        '/uploads/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
        '/uploads/....//package.json',
        '/uploads/%zz',
        '/uploads/00000000-0000-0000-0000-000000000000.png',
      ];
      for (const path of paths) {
        const res = await rawGet(port, path);
        assert.equal(res.status, 404, path);
        assert.match(JSON.parse(res.body).error, /not found/, path);
      }
      // The stored name itself is served, so the 404s above are not an accident.
      assert.equal((await rawGet(port, `/uploads/${name}`)).status, 200);
    });

    test('deleting an own creative removes its row and its file', async () => {
      const { id, url, name } = await uploaded(png());
      const res = await t.app.inject({ method: 'DELETE', url: `/creatives/${id}`, headers: asha.headers });
      assert.equal(res.statusCode, 204);
      assert.equal(res.body, '');
      const { rows } = await t.deps.db.query('SELECT id FROM creatives WHERE id = $1', [id]);
      assert.deepEqual(rows, []);
      assert.equal(existsSync(join(t.uploadDir, name)), false);
      assert.equal((await t.app.inject(url)).statusCode, 404);

      const again = await t.app.inject({ method: 'DELETE', url: `/creatives/${id}`, headers: asha.headers });
      assert.equal(again.statusCode, 404);
      assert.deepEqual(again.json(), { error: 'creative not found', code: 'not_found' });
    });

    test("someone else's creative is 404 to delete and stays, row and file", async () => {
      const { id, url, name } = await uploaded(png(), ravi);
      const res = await t.app.inject({ method: 'DELETE', url: `/creatives/${id}`, headers: asha.headers });
      assert.equal(res.statusCode, 404);
      assert.deepEqual(res.json(), { error: 'creative not found', code: 'not_found' });
      const { rows } = await t.deps.db.query('SELECT id FROM creatives WHERE id = $1', [id]);
      assert.equal(rows.length, 1);
      assert.ok(existsSync(join(t.uploadDir, name)));
      assert.equal((await t.app.inject(url)).statusCode, 200);
    });

    test('unknown and malformed ids, and requests without a token', async () => {
      const unknown = await t.app.inject({ method: 'DELETE', url: '/creatives/999999999', headers: asha.headers });
      assert.equal(unknown.statusCode, 404);
      for (const id of ['abc', '0', '-1', '1.5', '99999999999999999999']) {
        const res = await t.app.inject({ method: 'DELETE', url: `/creatives/${id}`, headers: asha.headers });
        assert.equal(res.statusCode, 400, id);
        assert.match(res.json().error, /params\.id/);
      }
      const { id } = await uploaded(png());
      const anonymous = await t.app.inject({ method: 'DELETE', url: `/creatives/${id}` });
      assert.equal(anonymous.statusCode, 401);
      assert.equal(anonymous.headers['www-authenticate'], 'Bearer');
    });

    test('a creative the original server stored is served and deleted by its carried-forward URL', async () => {
      // The original kept the client's extension (.jpeg, in any case) and wrote ./uploads/<name>.
      const name = 'e2a1a4be-6f5b-4c5e-9c4e-3f1d2b7a9c01.JPEG';
      writeFileSync(join(t.uploadDir, name), JPEG);
      const { rows } = await t.deps.db.query<{ id: number }>(
        `INSERT INTO creatives (user_id, creative_url, scheduled_at) VALUES ($1, $2, $3) RETURNING id`,
        [asha.user.id, `./uploads/${name}`, today()],
      );
      const served = await t.app.inject(`/uploads/${name}`);
      assert.equal(served.statusCode, 200);
      assert.deepEqual(served.rawPayload, JPEG);
      assert.equal(served.headers['content-type'], 'image/jpeg');

      const res = await t.app.inject({ method: 'DELETE', url: `/creatives/${rows[0]!.id}`, headers: asha.headers });
      assert.equal(res.statusCode, 204);
      assert.equal(existsSync(join(t.uploadDir, name)), false);
    });
  });
}
