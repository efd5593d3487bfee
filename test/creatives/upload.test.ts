import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import sharp from 'sharp';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends } from '../support/backends.ts';
import { GIF, IMAGES, png } from '../support/images.ts';
import { multipart, uploadForm, type MultipartBody } from '../support/multipart.ts';
import { createSignedInUser, type SignedInUser } from '../support/users.ts';

const MAX_UPLOAD_BYTES = 256 * 1024;
const MAX_SCHEDULE_DAYS = 30;
// UTC+14 all year, no daylight saving: "today" there is a day ahead of UTC for ten hours a day
// and always one or two days ahead of Pago Pago (UTC-11).
const APP_TIMEZONE = 'Pacific/Kiritimati';
const DAY_MS = 24 * 60 * 60 * 1000;

/** The date in a fixed-offset zone, `days` from today, computed without the code under test. */
function dateAt(utcOffsetHours: number, days = 0): string {
  return new Date(Date.now() + utcOffsetHours * 60 * 60 * 1000 + days * DAY_MS).toISOString().slice(0, 10);
}
const appDate = (days = 0) => dateAt(14, days);

const STORED_URL = /^\/uploads\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(jpg|png|gif|webp)$/;
/** An original or one of its variants. */
const STORED_FILE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(?:jpg|png|gif|webp|thumb\.webp|feed\.webp)$/;

interface CreativeRow {
  user_id: number;
  creative_url: string;
  scheduled_at: string;
  content_type: string | null;
  size_bytes: number | null;
}

for (const backend of databaseBackends) {
  describe(`POST /upload-creative on ${backend.name}`, () => {
    let t: TestApp;
    let asha: SignedInUser;
    before(async () => {
      t = await buildTestApp(backend, {
        MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
        MAX_SCHEDULE_DAYS: String(MAX_SCHEDULE_DAYS),
        APP_TIMEZONE,
      });
      asha = await createSignedInUser(t.deps.db, 'Asha');
    });
    after(() => t.close());

    const upload = (form: MultipartBody, user: SignedInUser | null = asha) =>
      t.app.inject({
        method: 'POST',
        url: '/upload-creative',
        headers: { ...form.headers, ...user?.headers },
        payload: form.body,
      });
    const uploadDirListing = () => readdirSync(t.uploadDir).sort();
    const rowCount = async () => (await t.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM creatives')).rows[0]!.n;

    /** Asserts a 201 whose creative, file on disk and row all match what was sent. */
    async function assertStored(
      res: LightMyRequestResponse,
      expected: { bytes: Buffer; mime: string; extension: string; scheduledAt: string },
    ) {
      assert.equal(res.statusCode, 201, res.body);
      const { creative } = res.json();
      assert.deepEqual(Object.keys(creative).sort(), [
        'content_type',
        'created_at',
        'creative_url',
        'height',
        'id',
        'placeholder',
        'scheduled_at',
        'size_bytes',
        'variants',
        'width',
      ]);
      const match = STORED_URL.exec(creative.creative_url);
      assert.ok(match, creative.creative_url);
      assert.equal(match[2], expected.extension);
      assert.equal(creative.scheduled_at, expected.scheduledAt);
      assert.equal(creative.content_type, expected.mime);
      const name = creative.creative_url.slice('/uploads/'.length);
      // What is stored is the image decoded and encoded again, in the type it was sent as.
      const stored = readFileSync(join(t.uploadDir, name));
      assert.equal(creative.size_bytes, stored.length);
      assert.equal((await sharp(stored).metadata()).format, expected.extension === 'jpg' ? 'jpeg' : expected.extension);
      const sent = await sharp(expected.bytes).metadata();
      assert.deepEqual([creative.width, creative.height], [sent.width, sent.pageHeight ?? sent.height]);
      assert.ok(Math.abs(Date.parse(creative.created_at) - Date.now()) < 60_000, creative.created_at);
      assert.match(creative.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);

      const { rows } = await t.deps.db.query<CreativeRow>(
        'SELECT user_id, creative_url, scheduled_at, content_type, size_bytes FROM creatives WHERE id = $1',
        [creative.id],
      );
      assert.deepEqual(rows, [
        {
          user_id: asha.user.id,
          creative_url: creative.creative_url,
          scheduled_at: expected.scheduledAt,
          content_type: expected.mime,
          size_bytes: stored.length,
        },
      ]);
      // Only finished files under their final names: no temporary file outlives a request.
      for (const entry of uploadDirListing()) assert.match(entry, STORED_FILE);
      return creative as { id: number; creative_url: string };
    }

    /** Asserts the status and error, and that neither a file nor a row was added. */
    async function assertRefused(form: MultipartBody, status: number, error: RegExp, user: SignedInUser | null = asha) {
      const filesBefore = uploadDirListing();
      const rowsBefore = await rowCount();
      const res = await upload(form, user);
      assert.equal(res.statusCode, status, res.body);
      assert.match(res.json().error, error);
      assert.deepEqual(uploadDirListing(), filesBefore);
      assert.equal(await rowCount(), rowsBefore);
      return res;
    }

    for (const image of IMAGES) {
      test(`a ${image.name} is stored as .${image.extension} with its detected type`, async () => {
        // The declared name and type are ignored: only the content counts.
        const form = uploadForm(image.bytes, appDate(3), { filename: 'photo.bin', contentType: 'application/octet-stream' });
        await assertStored(await upload(form), { ...image, scheduledAt: appDate(3) });
      });
    }

    test('the fields are accepted in either order', async () => {
      for (const order of ['date-first', 'file-first'] as const) {
        const bytes = png(100_000);
        const res = await upload(uploadForm(bytes, appDate(1), { order }));
        await assertStored(res, { bytes, mime: 'image/png', extension: 'png', scheduledAt: appDate(1) });
      }
    });

    test('text and HTML are refused with 415 whatever their name and declared type', async () => {
      for (const order of ['date-first', 'file-first'] as const) {
        await assertRefused(
          uploadForm(Buffer.from('just some words\n'), appDate(), { order, filename: 'cat.png', contentType: 'image/png' }),
          415,
          /not a JPEG, PNG, GIF or WebP image/,
        );
        await assertRefused(
          uploadForm(Buffer.from('<!doctype html><script>alert(1)</script>'), appDate(), { order, filename: 'cat.png' }),
          415,
          /not a JPEG, PNG, GIF or WebP image/,
        );
      }
      // Right magic bytes further in do not count; nor does an SVG, which can carry script.
      await assertRefused(uploadForm(Buffer.concat([Buffer.from('x'), png()]), appDate()), 415, /not a JPEG/);
      await assertRefused(
        uploadForm(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), appDate(), {
          filename: 'a.svg',
          contentType: 'image/svg+xml',
        }),
        415,
        /not a JPEG/,
      );
    });

    test('MAX_UPLOAD_BYTES is accepted, one byte more is 413 and leaves nothing on disk', async () => {
      const exact = png(MAX_UPLOAD_BYTES);
      await assertStored(await upload(uploadForm(exact, appDate())), {
        bytes: exact,
        mime: 'image/png',
        extension: 'png',
        scheduledAt: appDate(),
      });
      for (const order of ['date-first', 'file-first'] as const) {
        await assertRefused(uploadForm(png(MAX_UPLOAD_BYTES + 1), appDate(), { order }), 413, /larger than 262144 bytes/);
      }
      // Far larger than the limit: still read to the end and answered, still nothing kept.
      await assertRefused(uploadForm(png(8 * MAX_UPLOAD_BYTES), appDate()), 413, /larger than/);
    });

    test('an empty file is refused with 400', async () => {
      for (const order of ['date-first', 'file-first'] as const) {
        await assertRefused(uploadForm(Buffer.alloc(0), appDate(), { order }), 400, /file is empty/);
      }
    });

    test('today and the last allowed day in APP_TIMEZONE are accepted', async () => {
      for (const day of [appDate(), appDate(MAX_SCHEDULE_DAYS)]) {
        for (const order of ['date-first', 'file-first'] as const) {
          await assertStored(await upload(uploadForm(GIF, day, { order })), {
            bytes: GIF,
            mime: 'image/gif',
            extension: 'gif',
            scheduledAt: day,
          });
        }
      }
    });

    test('yesterday, an impossible date, a day past the horizon and malformed dates are 400, in either order', async () => {
      const cases: [string, RegExp][] = [
        [appDate(-1), /must not be before today/],
        // Pago Pago's today is always before Kiritimati's: the check uses APP_TIMEZONE, not UTC.
        [dateAt(-11), /must not be before today/],
        ['2026-02-30', /calendar date/],
        ['2027-13-01', /calendar date/],
        [appDate(MAX_SCHEDULE_DAYS + 1), /at most 30 days after today/],
        ['tomorrow', /calendar date/],
        ['2026-1-1', /calendar date/],
        [` ${appDate(1)}`, /calendar date/],
        ['', /calendar date/],
        ['9'.repeat(500), /calendar date/],
      ];
      for (const [date, error] of cases) {
        for (const order of ['date-first', 'file-first'] as const) {
          await assertRefused(uploadForm(png(50_000), date, { order }), 400, error);
        }
      }
    });

    test('missing, repeated and unknown fields are 400', async () => {
      const file = { name: 'file', value: png(), filename: 'a.png', contentType: 'image/png' };
      const date = { name: 'scheduled_at', value: appDate(2) };
      const cases: [Parameters<typeof multipart>[0], RegExp][] = [
        [[date], /field "file" is missing/],
        [[file], /field "scheduled_at" is missing/],
        [[], /field "file" is missing/],
        [[date, file, file], /a second file was sent/],
        [[file, date, file], /a second file was sent/],
        [[date, date, file], /"scheduled_at" was sent twice/],
        [[file, date, date], /"scheduled_at" was sent twice/],
        [[date, file, { name: 'caption', value: 'hello' }], /unexpected field "caption"/],
        [[{ name: 'caption', value: 'hello' }, date, file], /unexpected field "caption"/],
        [[date, file, { ...file, name: 'thumbnail' }], /unexpected file "thumbnail"/],
        [[date, { name: 'file', value: 'not a file' }], /unexpected field "file"/],
        [[file, { ...date, filename: 'date.txt' }], /unexpected file "scheduled_at"/],
        [[date, file, { name: 'constructor', value: 'x' }], /prototype property/],
      ];
      for (const [parts, error] of cases) await assertRefused(multipart(parts), 400, error);
    });

    test('a body that is not multipart/form-data is 415', async () => {
      const filesBefore = uploadDirListing();
      const bodies = [
        { headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ scheduled_at: appDate() }) },
        { headers: { 'content-type': 'text/plain' }, payload: 'hello' },
        { headers: { 'content-type': 'image/png' }, payload: png() },
        { headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `scheduled_at=${appDate()}` },
        { headers: { 'content-type': 'multipart/mixed; boundary=x' }, payload: '--x--' },
        { headers: {}, payload: undefined },
      ];
      for (const { headers, payload } of bodies) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/upload-creative',
          headers: { ...headers, ...asha.headers },
          payload,
        });
        assert.equal(res.statusCode, 415, `${JSON.stringify(headers)}: ${res.body}`);
        assert.match(res.json().error, /multipart\/form-data/);
      }
      assert.deepEqual(uploadDirListing(), filesBefore);
    });

    test('truncated and garbled multipart bodies are 400 and leave nothing behind', async () => {
      const form = uploadForm(png(100_000), appDate(), { order: 'file-first' });
      const { headers } = form;
      const garbled: [MultipartBody, RegExp][] = [
        // Cut in the middle of the file, and just before the closing boundary.
        [{ headers, body: form.body.subarray(0, 50_000) }, /malformed multipart body/],
        [{ headers, body: form.body.subarray(0, form.body.length - 10) }, /malformed multipart body/],
        // No boundary declared, a boundary that never appears, random bytes.
        [{ headers: { 'content-type': 'multipart/form-data' }, body: form.body }, /malformed multipart body/],
        [{ headers: { 'content-type': 'multipart/form-data; boundary=nope' }, body: form.body }, /malformed multipart body/],
        [{ headers, body: Buffer.from('\r\n\r\n--garbage--\r\n') }, /malformed multipart body|missing/],
        // A part without a Content-Disposition header.
        [
          { headers, body: Buffer.from(`--${headers['content-type'].split('=')[1]}\r\nX-Nothing: 1\r\n\r\nabc\r\n`) },
          /malformed|missing/,
        ],
      ];
      for (const [body, error] of garbled) await assertRefused(body, 400, error);
    });

    test('without a valid token the upload is 401 and nothing is stored', async () => {
      const res = await assertRefused(uploadForm(png(), appDate()), 401, /authenticat/, null);
      assert.equal(res.headers['www-authenticate'], 'Bearer');
      await assertRefused(uploadForm(png(), appDate()), 401, /authenticat/, {
        ...asha,
        headers: { authorization: 'Bearer AAAAAAAAAAAAAAAAAAAAAAAAAA' },
      });
    });

    test('when the row cannot be inserted the stored file is removed again', async () => {
      await t.deps.db.exec('ALTER TABLE creatives ADD CONSTRAINT refuse_everything CHECK (false) NOT VALID');
      try {
        const res = await assertRefused(uploadForm(png(), appDate()), 500, /^internal server error$/);
        assert.doesNotMatch(res.body, /refuse_everything|constraint/);
      } finally {
        await t.deps.db.exec('ALTER TABLE creatives DROP CONSTRAINT refuse_everything');
      }
    });
  });
}
