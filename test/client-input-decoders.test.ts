import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildTestApp, type TestApp } from './support/app.ts';
import { databaseBackends } from './support/backends.ts';
import { uploadForm } from './support/multipart.ts';
import { png } from './support/images.ts';
import { createSignedInUser, type SignedInUser } from './support/users.ts';

// Issue 19: a tampered cursor reached `new Date()` out of range and answered 500. Whatever a
// client puts in a cursor, a date, an id, a zone or a name is refused with 400 and a code.
const base64 = (text: string) => Buffer.from(text).toString('base64').replaceAll('=', '');
const today = () => new Date().toISOString().slice(0, 10);

const REFUSED_QUERIES: [string, string][] = [
  ['/feed cursor past the last representable date', `/feed?date=${today()}&cursor=${base64('9999999999999999/1')}`],
  ['/feed cursor with an id past 2^53', `/feed?date=${today()}&cursor=${base64('1000/999999999999999999')}`],
  ['/feed cursor that is not base64', `/feed?date=${today()}&cursor=%F0%9F%92%A5`],
  ['/feed cursor of the other list', `/feed?date=${today()}&cursor=${base64('2026-01-01/1')}`],
  ['/feed cursor of nothing', `/feed?date=${today()}&cursor=`],
  ['/creatives cursor with year 0', `/creatives?cursor=${base64('0000-01-01/1')}`],
  ['/creatives cursor with year 99999', `/creatives?cursor=${base64('99999-01-01/1')}`],
  ['/creatives cursor of the feed', `/creatives?cursor=${base64('1700000000000/1')}`],
  ['/creatives cursor with a NUL', `/creatives?cursor=${base64('2026-01-01/1\u0000')}`],
  ['/creatives from year 0', '/creatives?from=0000-01-01'],
  ['/creatives to year 0', '/creatives?to=0000-12-31'],
  ['/creatives from past PostgreSQL dates', '/creatives?from=99999-01-01'],
  ['/creatives from February 30', '/creatives?from=2026-02-30'],
  ['/creatives limit past 2^53', '/creatives?limit=99999999999999999999'],
  ['/feed date year 0', '/feed?date=0000-01-01'],
  ['/feed unknown zone', `/feed?date=${today()}&tz=Mars%2FOlympus`],
  ['/feed zone with a NUL', `/feed?date=${today()}&tz=UTC%00`],
  ['/scheduled zone that is far too long', `/scheduled?tz=${'A'.repeat(5000)}`],
  ['/scheduled zone of an offset', '/scheduled?tz=%2B99%3A99'],
];

for (const backend of databaseBackends) {
  describe(`client input that does not decode is 400 with a code, never 5xx, on ${backend.name}`, () => {
    let t: TestApp;
    let user: SignedInUser;
    before(async () => {
      t = await buildTestApp(backend);
      user = await createSignedInUser(t.deps.db);
    });
    after(() => t.close());

    for (const [what, url] of REFUSED_QUERIES) {
      test(`${what}: 400 validation_failed`, async () => {
        const response = await t.app.inject({ method: 'GET', url, headers: user.headers });
        assert.equal(response.statusCode, 400, response.body);
        assert.equal(response.json<{ code: string }>().code, 'validation_failed');
      });
    }

    for (const id of ['0', '-1', '1.5', '9007199254740993', 'abc', '%00']) {
      test(`DELETE /creatives/${id}: 400 validation_failed naming the id`, async () => {
        const response = await t.app.inject({ method: 'DELETE', url: `/creatives/${id}`, headers: user.headers });
        assert.equal(response.statusCode, 400, response.body);
        assert.deepEqual(
          [response.json<{ code: string }>().code, response.json<{ field?: string }>().field],
          ['validation_failed', 'id'],
        );
      });
    }

    for (const scheduledAt of ['0000-01-01', '99999-01-01', '2026-13-01', `${today()}\u0000`, '']) {
      test(`upload scheduled_at ${JSON.stringify(scheduledAt)}: 400 naming scheduled_at`, async () => {
        const form = uploadForm(png(), scheduledAt);
        const response = await t.app.inject({
          method: 'POST',
          url: '/upload-creative',
          headers: { ...user.headers, ...form.headers },
          payload: form.body,
        });
        assert.equal(response.statusCode, 400, response.body);
        assert.equal(response.json<{ field: string }>().field, 'scheduled_at');
      });
    }

    for (const [what, body] of [
      ['a name of control characters', { name: '\u0000\u0007', phone_number: '+919876543210' }],
      ['a name of lone surrogates', { name: '\ud800\udfff\ud800', phone_number: '+919876543210' }],
      ['a phone number of 5000 digits', { name: 'A', phone_number: '9'.repeat(5000) }],
      ['a phone number with a NUL', { name: 'A', phone_number: '+9198765\u000043210' }],
      ['a phone number of letters', { name: 'A', phone_number: '+91ABCDEFGHIJ' }],
      ['an OTP of letters', { phone_number: '+919876543210', otp: 'abcdef' }],
      ['an OTP of 5000 digits', { phone_number: '+919876543210', otp: '1'.repeat(5000) }],
    ] as const) {
      test(`POST /signup with ${what}: 400 with a code`, async () => {
        const response = await t.app.inject({ method: 'POST', url: '/signup', payload: body });
        assert.equal(response.statusCode, 400, response.body);
        assert.equal(typeof response.json<{ code: string }>().code, 'string');
      });
    }
  });
}
