import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { LocalDiskStorage } from '../../src/creatives/storage/local-disk.ts';
import { S3Storage } from '../../src/creatives/storage/s3.ts';
import type { Storage } from '../../src/creatives/storage/storage.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends, tempDir } from '../support/backends.ts';
import { png } from '../support/images.ts';
import { noisyJpeg } from '../support/photos.ts';
import { RawConnection } from '../support/raw-http.ts';
import { multipart, uploadForm } from '../support/multipart.ts';
import { createSignedInUser, type SignedInUser } from '../support/users.ts';
import { startMoto, type Moto } from '../support/moto.ts';

/** A storage of one kind, and everything it holds underneath (files, objects, multipart uploads). */
interface Subject {
  storage: Storage;
  everything(): Promise<string[]>;
  close(): Promise<void>;
}

let moto: Moto;
before(async () => {
  moto = await startMoto();
});
after(() => moto.stop());

const PREFIX = 'creatives/';

const kinds: { name: string; open(): Promise<Subject> }[] = [
  {
    name: 'local disk',
    async open() {
      const directory = tempDir('cheershare-contract-');
      const { storage } = await LocalDiskStorage.open(directory);
      return { storage, everything: () => readdir(directory), close: () => rm(directory, { recursive: true, force: true }) };
    },
  },
  {
    name: 'S3 (moto)',
    async open() {
      const bucket = await moto.createBucket();
      const storage = await S3Storage.open(moto.settings(bucket, PREFIX));
      return {
        storage,
        everything: () => moto.contents(bucket),
        close: () => storage.close(),
      };
    },
  },
];

async function listed(storage: Storage): Promise<string[]> {
  const names: string[] = [];
  for await (const file of storage.list()) names.push(file.name);
  return names.sort();
}

for (const kind of kinds) {
  describe(`storage contract on ${kind.name}`, () => {
    let s: Subject;
    before(async () => {
      s = await kind.open();
    });
    after(() => s.close());

    test('put of a file publishes nothing until commit; then the object is whole, listed and readable by range', async () => {
      const bytes = randomBytes(300_000);
      const path = join(tempDir('cheershare-contract-file-'), 'image');
      writeFileSync(path, bytes);
      const pending = await s.storage.put({ path, size: bytes.length }, 'png');
      assert.match(pending.key, /^[0-9a-f-]{36}\.png$/);
      assert.equal(pending.size, bytes.length);
      assert.equal(await s.storage.stat(pending.key), undefined);
      assert.deepEqual(await listed(s.storage), []);

      await pending.commit();
      const stat = await s.storage.stat(pending.key);
      assert.equal(stat?.size, bytes.length);
      assert.match(stat.etag, /^"[^"]+"$/);
      assert.deepEqual(await listed(s.storage), [pending.key]);
      assert.deepEqual(
        (await s.everything()).map((name) => name.replace(PREFIX, '')),
        [pending.key],
      );

      const whole = await s.storage.open(pending.key, { start: 0, end: bytes.length - 1 });
      assert.deepEqual(await buffer(whole!), bytes);
      const part = await s.storage.open(pending.key, { start: 100, end: 199 });
      assert.deepEqual(await buffer(part!), bytes.subarray(100, 200));

      await s.storage.delete(pending.key);
      await s.storage.delete(pending.key);
      assert.equal(await s.storage.stat(pending.key), undefined);
      assert.equal(await s.storage.open(pending.key, { start: 0, end: 0 }), undefined);
      assert.deepEqual(await s.everything(), []);
    });

    test('a variant is stored beside its original, under the same uuid', async () => {
      const original = await s.storage.put(Buffer.from('original'), 'png');
      const stem = original.key.slice(0, 36);
      const variant = await s.storage.put(Buffer.from('variant'), 'feed.webp', stem);
      assert.equal(variant.key, `${stem}.feed.webp`);
      await Promise.all([original.commit(), variant.commit()]);
      assert.deepEqual(await listed(s.storage), [original.key, variant.key].sort());
      await Promise.all([s.storage.delete(original.key), s.storage.delete(variant.key)]);
      assert.deepEqual(await s.everything(), []);
    });

    test('discard leaves nothing, and may be called twice', async () => {
      const pending = await s.storage.put(randomBytes(1000), 'gif');
      await pending.discard();
      await pending.discard();
      assert.deepEqual(await s.everything(), []);
    });

    test('a file that cannot be read is refused and leaves no object', async () => {
      const missing = join(tmpdir(), `cheershare-missing-${randomBytes(8).toString('hex')}`);
      await assert.rejects(s.storage.put({ path: missing, size: 1000 }, 'jpg'));
      assert.deepEqual(await s.everything(), []);
    });

    test('names that are not stored names are refused', async () => {
      await assert.rejects(s.storage.put(Buffer.from('x'), 'exe'), /not a stored name/);
      await assert.rejects(s.storage.delete('../outside.png'), /not a stored object key/);
      assert.equal(await s.storage.stat('../package.json'), undefined);
      assert.deepEqual(await s.everything(), []);
    });
  });
}

describe('S3 leftovers', () => {
  test('pending objects and multipart uploads older than the cut-off are removed, newer ones stay', async () => {
    const bucket = await moto.createBucket();
    const storage = await S3Storage.open(moto.settings(bucket, PREFIX));
    try {
      const pendingKey = `${PREFIX}.pending/5d8e2f10-3c4b-4a59-8e7d-6f1a2b3c4d5e.png`;
      await moto.client.send(new PutObjectCommand({ Bucket: bucket, Key: pendingKey, Body: 'half' }));
      await moto.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: `${PREFIX}.pending/crashed.png` }));
      const listMultipart = async () =>
        (await moto.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];

      // (moto reports every multipart upload as started in 2010, so only the object shows "newer stays".)
      await storage.sweepLeftovers(new Date(Date.now() - 60_000));
      const objects = async () => (await moto.client.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? [];
      assert.deepEqual(
        (await objects()).map((o) => o.Key),
        [pendingKey],
      );

      await storage.sweepLeftovers(new Date(Date.now() + 60_000));
      assert.deepEqual(await listMultipart(), []);
      assert.deepEqual(await objects(), []);
    } finally {
      await storage.close();
    }
  });

  test('a missing bucket is a start-up error naming it', async () => {
    await assert.rejects(
      S3Storage.open(moto.settings('no-such-bucket-here')),
      /S3_BUCKET: bucket "no-such-bucket-here" does not exist/,
    );
  });
});

// The same over HTTP, on the embedded database: what a client of either storage sees.

async function until(condition: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    assert.ok(Date.now() < deadline, `not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
const MAX_UPLOAD_BYTES = 6 * 1024 * 1024;
const today = () => new Date().toISOString().slice(0, 10);

const apps: { name: string; env(): Promise<Record<string, string>>; everything(t: TestApp): Promise<string[]> }[] = [
  {
    name: 'local disk',
    env: async () => ({}),
    everything: (t) => readdir(t.uploadDir),
  },
  {
    name: 'S3 (moto)',
    env: async () => moto.env(await moto.createBucket()),
    everything: (t) => moto.contents(t.config.storage.kind === 's3' ? t.config.storage.bucket : ''),
  },
];

for (const kind of apps) {
  describe(`GET /uploads and refused uploads on ${kind.name}`, () => {
    let t: TestApp;
    let asha: SignedInUser;
    before(async () => {
      t = await buildTestApp(databaseBackends[0]!, { ...(await kind.env()), MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) });
      asha = await createSignedInUser(t.deps.db, 'Asha');
    });
    after(() => t.close());

    /** This process's uploads being received (the app runs in it). */
    const receiving = async () => (await readdir(tmpdir())).filter((name) => name.startsWith(`cheershare-image-${process.pid}-`));
    const post = (body: { body: Buffer; headers: Record<string, string> }) =>
      t.app.inject({
        method: 'POST',
        url: '/upload-creative',
        headers: { ...body.headers, ...asha.headers },
        payload: body.body,
      });

    test('a stored file is served streamed with its headers, by range, and 304 for its ETag', async () => {
      const res = await post(uploadForm(await noisyJpeg(96, 96), today(), { filename: 'a.jpg', contentType: 'image/jpeg' }));
      assert.equal(res.statusCode, 201, res.body);
      const { creative_url: url, size_bytes: size } = res.json().creative as { creative_url: string; size_bytes: number };

      const full = await t.app.inject(url);
      assert.equal(full.statusCode, 200);
      // What is stored: the image decoded and encoded again.
      const bytes = full.rawPayload;
      assert.equal(bytes.length, size);
      assert.equal(full.headers['content-type'], 'image/jpeg');
      assert.equal(full.headers['content-length'], String(size));
      assert.equal(full.headers['content-security-policy'], "default-src 'none'; sandbox");
      assert.equal(full.headers['x-content-type-options'], 'nosniff');
      assert.equal(full.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.match(String(full.headers.etag), /^"[^"]+"$/);

      const head = await t.app.inject({ method: 'HEAD', url });
      assert.equal(head.statusCode, 200);
      assert.equal(head.headers['content-length'], String(size));
      assert.equal(head.headers.etag, full.headers.etag);
      assert.equal(head.rawPayload.length, 0);

      const range = await t.app.inject({ url, headers: { range: `bytes=${size - 10}-` } });
      assert.equal(range.statusCode, 206);
      assert.equal(range.headers['content-range'], `bytes ${size - 10}-${size - 1}/${size}`);
      assert.deepEqual(range.rawPayload, bytes.subarray(size - 10));

      const outside = await t.app.inject({ url, headers: { range: `bytes=${size}-` } });
      assert.equal(outside.statusCode, 416);
      assert.equal(outside.headers['content-range'], `bytes */${size}`);
      assert.equal(outside.json().code, 'range_not_satisfiable');

      const notModified = await t.app.inject({ url, headers: { 'if-none-match': String(full.headers.etag) } });
      assert.equal(notModified.statusCode, 304);
      assert.equal(notModified.rawPayload.length, 0);

      for (const path of [
        '/uploads',
        '/uploads/',
        `${url}/`,
        `/uploads/.pending/${url.slice(9)}`,
        `/uploads/creatives%2F${url.slice(9)}`,
      ]) {
        const missing = await t.app.inject(path);
        assert.equal(missing.statusCode, 404, path);
        assert.equal(missing.json().code, 'not_found', path);
      }
    });

    test('refused uploads leave nothing in the storage', async () => {
      const before = await kind.everything(t);
      const refusals = [
        // Larger than MAX_UPLOAD_BYTES: streamed past the first multipart part, then refused.
        { form: uploadForm(png(MAX_UPLOAD_BYTES + 1), today()), status: 413 },
        // The whole file arrives, then the date is refused.
        {
          form: multipart([
            { name: 'file', value: png(1000), filename: 'a.png' },
            { name: 'scheduled_at', value: '1999-01-01' },
          ]),
          status: 400,
        },
        { form: uploadForm(Buffer.from('not an image at all'), today()), status: 415 },
      ];
      for (const { form, status } of refusals) {
        const res = await post(form);
        assert.equal(res.statusCode, status, res.body);
      }
      assert.deepEqual(await kind.everything(t), before);
    });

    test('an upload whose client goes away half-way leaves nothing', async () => {
      const before = await kind.everything(t);
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = t.app.server.address() as { port: number };
      // Past the first 5 MiB multipart part, then the connection drops.
      const form = uploadForm(png(MAX_UPLOAD_BYTES - 1000), today());
      const connection = await RawConnection.open(port);
      await connection.send(
        `POST /upload-creative HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${asha.headers.authorization}\r\n` +
          `Content-Type: ${form.headers['content-type']}\r\nContent-Length: ${form.body.length}\r\n\r\n`,
      );
      await new Promise<void>((resolve) => connection.socket.write(form.body.subarray(0, 5.5 * 1024 * 1024), () => resolve()));
      // It is received into a temporary file (the storage sees an image only once it is decoded)…
      await until(async () => (await receiving()).length > 0);
      connection.socket.destroy();
      // … and nothing of it stays once the client is gone.
      await until(async () => (await receiving()).length === 0);
      await until(async () => JSON.stringify(await kind.everything(t)) === JSON.stringify(before));
    });
  });
}
