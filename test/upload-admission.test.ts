import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { buildTestApp, type TestApp } from './support/app.ts';
import { databaseBackends } from './support/backends.ts';
import { encodePng, png } from './support/images.ts';
import { uploadForm } from './support/multipart.ts';
import { RawConnection, type RawResponse } from './support/raw-http.ts';
import { createSignedInUser, type SignedInUser } from './support/users.ts';
import { eventually } from './support/wait.ts';

const HOUR_MS = 3_600_000;
const QUOTA = 100_000;
const TEMP_MAX = 300_000;
const tomorrow = () => new Date(Date.now() + 24 * HOUR_MS).toISOString().slice(0, 10);
/** A PNG cut off in its image data: it passes the type check, then fails to decode. */
const UNDECODABLE = encodePng(100, 100, randomBytes(100 * 301)).subarray(0, 3_000);

/** This process's temporary images (uploads arriving or being processed). */
const temporaryImages = () => readdirSync(tmpdir()).filter((name) => name.startsWith(`cheershare-image-${process.pid}-`));

for (const backend of databaseBackends) {
  describe(`upload admission on ${backend.name}`, () => {
    let t: TestApp;
    let port: number;
    let clock = Date.now();
    before(async () => {
      t = await buildTestApp(
        backend,
        {
          UPLOADS_PER_USER_PER_HOUR: '4',
          USER_QUOTA_BYTES: String(QUOTA),
          UPLOAD_TEMP_MAX_BYTES: String(TEMP_MAX),
          IMAGE_SECONDS_PER_USER_PER_HOUR: '60',
          MIN_FREE_DISK_BYTES: '1',
        },
        { now: () => clock, cacheTtlMs: 0 },
      );
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      port = (t.app.server.address() as { port: number }).port;
    });
    // A test that fails half-way must not leave a connection holding the app open.
    const connections: RawConnection[] = [];
    after(async () => {
      for (const connection of connections) connection.close();
      await t.close();
    });

    const inject = (user: SignedInUser, file: Buffer) => {
      const form = uploadForm(file, tomorrow());
      return t.app.inject({
        method: 'POST',
        url: '/upload-creative',
        headers: { ...form.headers, ...user.headers },
        payload: form.body,
      });
    };

    /**
     * An upload whose first `sentBytes` of file have arrived and whose rest is held back; resolves
     * once the server counts them as in flight.
     */
    const slowUpload = async (user: SignedInUser, fileBytes: number, sentBytes: number) => {
      const form = uploadForm(png(fileBytes), tomorrow());
      const connection = await RawConnection.open(port);
      connections.push(connection);
      const head = [
        'POST /upload-creative HTTP/1.1',
        'Host: localhost',
        `Authorization: ${user.headers.authorization}`,
        `Content-Type: ${form.headers['content-type']}`,
        `Content-Length: ${form.body.length}`,
      ].join('\r\n');
      const before = t.deps.uploadAdmission.temporaryBytes;
      const fileStart = form.body.indexOf(Buffer.from('\x89PNG', 'latin1'));
      connection.socket.write(`${head}\r\n\r\n`);
      connection.socket.write(form.body.subarray(0, fileStart + sentBytes));
      // The parser may hold back a few bytes while it looks for the boundary.
      await eventually(async () => assert.ok(t.deps.uploadAdmission.temporaryBytes >= before + sentBytes - 1_000), 60_000, 50);
      return {
        connection,
        async finish(): Promise<RawResponse> {
          connection.socket.write(form.body.subarray(fileStart + sentBytes));
          return connection.response();
        },
      };
    };

    const assertRetryAfter = (
      response: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
      status: number,
      code: string,
      retryAfter: number,
    ) => {
      assert.equal(response.statusCode, status);
      assert.equal((response.json() as { code: string }).code, code);
      assert.equal(response.headers['retry-after'], String(retryAfter));
    };

    test('UPLOADS_IN_FLIGHT_PER_USER (2): a third upload while two arrive → 429 at once with Retry-After; others are not affected; a finished one frees its place', async () => {
      const user = await createSignedInUser(t.deps.db);
      const other = await createSignedInUser(t.deps.db);
      const first = await slowUpload(user, 10_000, 6_000);
      const second = await slowUpload(user, 10_000, 6_000);
      assertRetryAfter(await inject(user, png()), 429, 'rate_limited', 5);
      assert.equal((await inject(other, png())).statusCode, 201);
      assert.equal((await first.finish()).status, 201);
      assert.equal((await inject(user, png())).statusCode, 201);
      assert.equal((await second.finish()).status, 201);
      await t.deps.db.query('DELETE FROM recent_uploads');
    });

    test('bytes still arriving count toward USER_QUOTA_BYTES: a second upload that would pass it → 413 quota_exceeded, nothing kept', async () => {
      const user = await createSignedInUser(t.deps.db);
      const arriving = await slowUpload(user, 90_000, 70_000);
      const refused = await inject(user, png(40_000));
      assert.equal(refused.statusCode, 413);
      assert.equal(refused.json().code, 'quota_exceeded');
      // What is left of the quota still fits.
      assert.equal((await inject(user, png(QUOTA - 70_000 - 2_000))).statusCode, 201);
      arriving.connection.close();
      await eventually(async () => assert.equal(t.deps.uploadAdmission.temporaryBytes, 0), 60_000);
      assert.deepEqual(temporaryImages(), []);
      await t.deps.db.query('DELETE FROM recent_uploads');
    });

    test('UPLOAD_TEMP_MAX_BYTES: an upload that would take the server past it → 503 with Retry-After; under it, uploads go on', async () => {
      const people = await Promise.all([1, 2, 3, 4, 5].map(() => createSignedInUser(t.deps.db)));
      // Three people with 80 kB each arriving: 240 of the server's 300 kB.
      const arriving = [];
      for (const person of people.slice(0, 3)) arriving.push(await slowUpload(person, 90_000, 80_000));
      assertRetryAfter(await inject(people[3]!, png(70_000)), 503, 'service_unavailable', 30);
      assert.equal((await inject(people[4]!, png(40_000))).statusCode, 201);
      for (const upload of arriving) upload.connection.close();
      await eventually(async () => assert.equal(t.deps.uploadAdmission.temporaryBytes, 0), 60_000);
      assert.equal((await inject(people[3]!, png(70_000))).statusCode, 201);
      await t.deps.db.query('DELETE FROM recent_uploads');
    });

    test('IMAGE_SECONDS_PER_USER_PER_HOUR: admitted under it; at it → 429 with Retry-After until enough image time leaves the hour', async () => {
      const user = await createSignedInUser(t.deps.db);
      const record = (msAgo: number, imageMs: number) =>
        t.deps.db.query('INSERT INTO recent_uploads (user_id, uploaded_at, image_ms) VALUES ($1, $2, $3)', [
          user.user.id,
          new Date(clock - msAgo),
          imageMs,
        ]);
      await record(50 * 60_000, 30_000);
      await record(10 * 60_000, 29_000);
      // 59 s of 60 used: admitted (the upload itself may take the person past the budget).
      const admitted = await inject(user, png());
      assert.equal(admitted.statusCode, 201);
      await t.deps.db.query('UPDATE recent_uploads SET image_ms = 1000 WHERE user_id = $1 AND image_ms < 1000', [user.user.id]);
      // 60 s: refused until the upload 50 minutes old leaves the hour.
      assertRetryAfter(await inject(user, png()), 429, 'rate_limited', 10 * 60);
      clock += 10 * 60_000 - 1_000;
      assertRetryAfter(await inject(user, png()), 429, 'rate_limited', 1);
      clock += 1_000;
      assert.equal((await inject(user, png())).statusCode, 201);
    });

    test('an upload refused after decoding counts toward UPLOADS_PER_USER_PER_HOUR and records its image time', async () => {
      const user = await createSignedInUser(t.deps.db);
      for (let i = 0; i < 4; i++) assert.equal((await inject(user, UNDECODABLE)).statusCode, 415);
      const limited = await inject(user, png());
      assert.equal(limited.statusCode, 429);
      assert.equal(limited.json().code, 'rate_limited');
      assert.equal(limited.headers['retry-after'], '3600');
      const { rows } = await t.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM recent_uploads WHERE user_id = $1', [
        user.user.id,
      ]);
      assert.equal(rows[0]!.n, 4);
      // Refused before decoding (not an image at all): counts toward nothing.
      const other = await createSignedInUser(t.deps.db);
      for (let i = 0; i < 5; i++) assert.equal((await inject(other, Buffer.from('not an image'))).statusCode, 415);
      assert.equal((await inject(other, png())).statusCode, 201);
    });
  });
}
