import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import { parseRetryAfter } from '../../public/js/api.js';
import { addDays, formatBytes, formatWait, listTypes, todayIn } from '../../public/js/format.js';
import { placeholderUrl } from '../../public/js/picture.js';
import { GREEN, near, pixelAt } from '../support/photos.ts';
import { ROOT } from '../support/server-process.ts';

// The browser modules' pure parts, run under Node: dates, sizes and waits the pages show.

test('addDays crosses month, year and leap-day boundaries on calendar dates', () => {
  assert.equal(addDays('2026-11-30', 1), '2026-12-01');
  assert.equal(addDays('2026-12-31', 1), '2027-01-01');
  assert.equal(addDays('2028-02-28', 1), '2028-02-29');
  assert.equal(addDays('2026-11-25', 365), '2027-11-25');
  assert.equal(addDays('2026-03-01', -1), '2026-02-28');
});

test('todayIn gives the calendar date in the zone, not in UTC', () => {
  const lateUtc = new Date('2026-11-25T20:00:00Z');
  assert.equal(todayIn('UTC', lateUtc), '2026-11-25');
  assert.equal(todayIn('Asia/Kolkata', lateUtc), '2026-11-26');
  assert.equal(todayIn('America/Los_Angeles', new Date('2026-11-25T03:00:00Z')), '2026-11-24');
});

test('sizes, type lists and waits read as people write them', () => {
  assert.equal(formatBytes(10 * 1024 * 1024), '10 MB');
  assert.equal(formatBytes(1536 * 1024), '1.5 MB');
  assert.equal(formatBytes(48213), '47 KB');
  assert.equal(formatBytes(19), '19 B');
  assert.equal(listTypes(['image/jpeg', 'image/png', 'image/gif', 'image/webp']), 'JPEG, PNG, GIF or WebP');
  assert.equal(listTypes(['image/png']), 'PNG');
  assert.equal(formatWait(27), '27 s');
  assert.equal(formatWait(75), '1 min 15 s');
  assert.equal(formatWait(120), '2 min');
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  const now = Date.parse('2026-11-25T10:00:00Z');
  assert.equal(parseRetryAfter('27', now), 27);
  assert.equal(parseRetryAfter('Wed, 25 Nov 2026 10:01:30 GMT', now), 90);
  assert.equal(parseRetryAfter('0', now), 1, 'never "0 s"');
  assert.equal(parseRetryAfter(null, now), null);
  assert.equal(parseRetryAfter('soon', now), null);
});

test('the vendored ThumbHash module is the published one, and the placeholder decodes to a picture of the image', async () => {
  const published = readFileSync(join(ROOT, 'node_modules/thumbhash/thumbhash.js'));
  assert.deepEqual(readFileSync(join(ROOT, 'public/vendor/thumbhash.js')), published);
  const hash = Buffer.from(rgbaToThumbHash(3, 2, Buffer.alloc(3 * 2 * 4, Buffer.from([0, 255, 0, 255])))).toString('base64');
  const url = placeholderUrl(hash);
  assert.match(url, /^data:image\/png;base64,/);
  const picture = Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
  const { width = 0, height = 0 } = await sharp(picture).metadata();
  assert.ok(width > height, `${width}×${height}: landscape like the image`);
  assert.ok(near(await pixelAt(picture, width / 2, height / 2), GREEN), 'green like the image');
});
