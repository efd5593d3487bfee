import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends } from '../support/backends.ts';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { GIF, png } from '../support/images.ts';
import { uploadForm } from '../support/multipart.ts';
import { postSignup, uniqueIp, uniquePhone } from '../support/signup.ts';
import { createSignedInUser, type SignedInUser } from '../support/users.ts';

const MAX_UPLOAD_BYTES = 64 * 1024;
const VERIFY_PER_IP = 2;
const UPLOADS_PER_HOUR = 2;

/** Every sample of a scrape by its series (`name{labels}`). */
function samples(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    map.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return map;
}

/** The series whose value changed between two scrapes, with the change, for names starting with `prefix`. */
function deltas(before: Map<string, number>, after: Map<string, number>, prefix: string): Record<string, number> {
  const changed: Record<string, number> = {};
  for (const [series, value] of after) {
    if (!series.startsWith(prefix)) continue;
    const delta = value - (before.get(series) ?? 0);
    if (delta !== 0) changed[series] = delta;
  }
  return changed;
}

for (const backend of databaseBackends) {
  describe(`metrics on ${backend.name}`, () => {
    let fake: FakeTwilio;
    let t: TestApp;
    let user: SignedInUser;
    const scrape = async () => samples(await t.deps.metrics.scrape());
    before(async () => {
      fake = await startFakeTwilio();
      t = await buildTestApp(
        backend,
        {
          ...fake.env,
          APP_SECRET: 'a-secret-for-the-metrics-tests',
          METRICS_PORT: '9464',
          MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
          VERIFY_PER_IP_PER_HOUR: String(VERIFY_PER_IP),
          UPLOADS_PER_USER_PER_HOUR: String(UPLOADS_PER_HOUR),
          // Under 100 an hour, each instance takes sends from the shared count one at a time.
          SMS_PER_HOUR: '50',
        },
        { smsRetryBaseDelayMs: 5 },
      );
      user = await createSignedInUser(t.deps.db);
    });
    after(async () => {
      await t?.close();
      await fake.close();
    });

    test('code requests, verifications, SMS sends and rate-limit refusals count by outcome, exactly', async () => {
      const phone = uniquePhone();
      const ip = uniqueIp();
      const start = await scrape();

      assert.equal((await postSignup(t, { name: 'Asha', phone_number: phone }, ip)).statusCode, 200);
      await t.deps.background.drain();
      assert.equal((await postSignup(t, { name: 'Asha', phone_number: phone }, ip)).statusCode, 429); // resend too soon
      assert.equal((await postSignup(t, { name: 'Asha', phone_number: '12' }, ip)).statusCode, 400);
      const badJson = await t.app.inject({
        method: 'POST',
        url: '/signup',
        headers: { 'content-type': 'application/json' },
        payload: '{',
      });
      assert.equal(badJson.json<{ code: string }>().code, 'invalid_json');

      const code = fake.codeFor(phone, t.config.otp.length)!;
      const wrong = code === '000000' ? '000001' : '000000';
      assert.equal((await postSignup(t, { phone_number: phone, otp: wrong }, ip)).statusCode, 401);
      assert.equal((await postSignup(t, { phone_number: phone, otp: code }, ip)).statusCode, 200);
      // Failed guesses from one address, up to the limit and one past it.
      const guesser = uniqueIp();
      for (let i = 0; i < VERIFY_PER_IP; i++) {
        assert.equal((await postSignup(t, { phone_number: phone, otp: wrong }, guesser)).statusCode, 401);
      }
      assert.equal((await postSignup(t, { phone_number: phone, otp: wrong }, guesser)).statusCode, 429);
      assert.equal((await postSignup(t, { phone_number: phone, otp: '12' }, guesser)).statusCode, 400);

      const end = await scrape();
      assert.deepEqual(deltas(start, end, 'otp_requests_total'), {
        'otp_requests_total{outcome="sent"}': 1,
        'otp_requests_total{outcome="rate_limited"}': 1,
        'otp_requests_total{outcome="validation_failed"}': 1,
        'otp_requests_total{outcome="invalid_json"}': 1,
      });
      assert.deepEqual(deltas(start, end, 'otp_verifications_total'), {
        'otp_verifications_total{outcome="invalid_otp"}': 1 + VERIFY_PER_IP,
        'otp_verifications_total{outcome="verified"}': 1,
        'otp_verifications_total{outcome="rate_limited"}': 1,
        'otp_verifications_total{outcome="validation_failed"}': 1,
      });
      assert.deepEqual(deltas(start, end, 'sms_sends_total'), { 'sms_sends_total{outcome="sent"}': 1 });
      assert.deepEqual(deltas(start, end, 'rate_limit_refusals_total'), {
        'rate_limit_refusals_total{limit="otp-resend"}': 1,
        'rate_limit_refusals_total{limit="otp-verify-ip"}': 1,
      });
    });

    test('the SMS budget reserved is read from the shared count at scrape time', async () => {
      const start = await scrape();
      assert.equal(start.get('sms_budget_limit'), 50);
      assert.equal((await postSignup(t, { name: 'Asha', phone_number: uniquePhone() }, uniqueIp())).statusCode, 200);
      assert.equal((await scrape()).get('sms_budget_reserved'), start.get('sms_budget_reserved')! + 1);
      await t.deps.background.drain();
    });

    test('a failed SMS is counted as failed once, after its retries', async () => {
      fake.behave({ failures: Infinity });
      try {
        const start = await scrape();
        assert.equal((await postSignup(t, { name: 'Asha', phone_number: uniquePhone() }, uniqueIp())).statusCode, 200);
        await t.deps.background.drain();
        assert.deepEqual(deltas(start, await scrape(), 'sms_sends_total'), { 'sms_sends_total{outcome="failed"}': 1 });
      } finally {
        fake.behave({ failures: 0 });
      }
    });

    test('background tasks in flight are read at scrape time', async () => {
      fake.pause();
      try {
        assert.equal((await postSignup(t, { name: 'Asha', phone_number: uniquePhone() }, uniqueIp())).statusCode, 200);
        await fake.waitForRequests(fake.requests.length + 1);
        assert.equal((await scrape()).get('background_tasks_in_flight'), 1);
      } finally {
        fake.resume();
      }
      await t.deps.background.drain();
      assert.equal((await scrape()).get('background_tasks_in_flight'), 0);
    });

    test('uploads count by outcome, and the bytes of those stored; a refusal by the hourly limit counts as one', async () => {
      const uploader = await createSignedInUser(t.deps.db);
      const upload = (file: Buffer, headers: Record<string, string> = uploader.headers) => {
        const form = uploadForm(file, new Date().toISOString().slice(0, 10));
        return t.app.inject({
          method: 'POST',
          url: '/upload-creative',
          headers: { ...form.headers, ...headers },
          payload: form.body,
        });
      };
      const start = await scrape();
      const image = png(2_000);
      const notImage = await upload(Buffer.from('this is not an image at all'));
      assert.equal(notImage.statusCode, 415);
      const tooLarge = await upload(png(MAX_UPLOAD_BYTES + 1));
      assert.equal(tooLarge.statusCode, 413);
      assert.equal((await upload(image, {})).statusCode, 401);
      // The limit is checked before the body is read: refusals first, then the hour's two uploads.
      const stored = [await upload(image), await upload(GIF)];
      for (const res of stored) assert.equal(res.statusCode, 201);
      assert.equal((await upload(image)).statusCode, 429); // a third within the hour

      const end = await scrape();
      assert.deepEqual(deltas(start, end, 'uploads_total'), {
        'uploads_total{outcome="stored"}': 2,
        [`uploads_total{outcome="${notImage.json<{ code: string }>().code}"}`]: 1,
        [`uploads_total{outcome="${tooLarge.json<{ code: string }>().code}"}`]: 1,
        'uploads_total{outcome="unauthorized"}': 1,
        'uploads_total{outcome="rate_limited"}': 1,
      });
      assert.deepEqual(deltas(start, end, 'rate_limit_refusals_total'), {
        'rate_limit_refusals_total{limit="uploads-per-user"}': 1,
      });
      assert.equal(notImage.json<{ code: string }>().code, 'unsupported_media_type');
      const storedBytes = stored.map((res) => res.json<{ creative: { size_bytes: number } }>().creative.size_bytes);
      assert.deepEqual(deltas(start, end, 'upload_bytes_total'), { upload_bytes_total: storedBytes[0]! + storedBytes[1]! });
      // Only the two that got past the checks on their first bytes and size were decoded.
      assert.deepEqual(deltas(start, end, 'image_processing_seconds_count'), { image_processing_seconds_count: 2 });
    });

    test('request durations are recorded under the route pattern, and only its buckets move', async () => {
      const start = await scrape();
      for (let i = 0; i < 3; i++) assert.equal((await t.app.inject('/healthz')).statusCode, 200);
      const missing = await t.app.inject({ method: 'DELETE', url: '/creatives/987654', headers: user.headers });
      assert.equal(missing.statusCode, 404);
      assert.equal((await t.app.inject('/no/such/page')).statusCode, 404);
      const end = await scrape();

      const counts = deltas(start, end, 'http_request_duration_seconds_count');
      assert.deepEqual(
        { ...counts },
        {
          'http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}': 3,
          'http_request_duration_seconds_count{method="DELETE",route="/creatives/:id",status="404"}': 1,
          'http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}': 1,
        },
      );
      const buckets = deltas(start, end, 'http_request_duration_seconds_bucket');
      assert.equal(buckets['http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/healthz",status="200"}'], 3);
      // Every bucket that moved is one of these three series', by at most its count.
      for (const [series, delta] of Object.entries(buckets)) {
        const labels = /,(method=.*)\}$/.exec(series)![1]!;
        assert.ok(delta <= counts[`http_request_duration_seconds_count{${labels}}`]!, series);
      }
      // A local /healthz answers within 2.5 s; the lowest buckets hold what was faster.
      assert.equal(buckets['http_request_duration_seconds_bucket{le="2.5",method="GET",route="/healthz",status="200"}'], 3);
    });

    test('caches count hits and misses by name', async () => {
      const start = await scrape();
      const other = await createSignedInUser(t.deps.db);
      for (let i = 0; i < 3; i++) {
        assert.equal((await t.app.inject({ url: '/scheduled?tz=Asia/Tokyo', headers: other.headers })).statusCode, 200);
      }
      const lookups = deltas(start, await scrape(), 'cache_lookups_total');
      // The first request loads the new token and, unless another test's request did, the feed.
      assert.equal(lookups['cache_lookups_total{cache="tokens",result="miss"}'], 1);
      assert.equal(lookups['cache_lookups_total{cache="tokens",result="hit"}'], 2);
      assert.equal(
        (lookups['cache_lookups_total{cache="feed",result="miss"}'] ?? 0) +
          (lookups['cache_lookups_total{cache="feed",result="hit"}'] ?? 0),
        3,
      );
      assert.ok(lookups['cache_lookups_total{cache="feed",result="hit"}']! >= 2);
    });

    test('database pool use is read at scrape time', async () => {
      const pool = await scrape();
      assert.equal(pool.get('db_pool_connections{state="in_use"}'), 0);
      assert.ok(pool.get('db_pool_connections{state="idle"}')! >= (backend.name === 'pglite' ? 1 : 0));
      assert.equal(pool.get('db_pool_waiting_queries'), 0);
    });

    test('no label carries a phone number, token, address, code or file name, whatever requests carry', async () => {
      const phone = '+919812300077';
      const address = '10.77.88.99';
      const secret = 'bW9ua2V5LXRva2VuLXNlY3JldA';
      assert.equal((await postSignup(t, { name: 'Asha', phone_number: phone }, address)).statusCode, 200);
      await t.deps.background.drain();
      const code = fake.codeFor(phone, t.config.otp.length)!;
      await postSignup(t, { phone_number: phone, otp: code }, address);
      const requests = [
        { url: `/signup/${phone}?otp=${code}`, method: 'POST' as const },
        { url: `/u/${secret}/${address}/9812300077.png?phone=${phone}` },
        { url: `/creatives/${code}`, headers: { authorization: `Bearer ${secret}` } },
        { url: `/me`, headers: { authorization: `Bearer ${user.token}`, 'x-forwarded-for': address } },
        { url: `/uploads/${secret}.png` },
      ];
      for (const request of requests) await t.app.inject({ ...request, remoteAddress: address });
      const form = uploadForm(png(100), new Date().toISOString().slice(0, 10), { filename: `${phone}-${secret}.png` });
      await t.app.inject({
        method: 'POST',
        url: '/upload-creative',
        headers: { ...form.headers, ...user.headers },
        payload: form.body,
      });

      const text = await t.deps.metrics.scrape();
      for (const secretValue of [phone, '9812300077', address, secret, user.token]) {
        assert.ok(!text.includes(secretValue), `"${secretValue}" appears in the scrape`);
      }
      // Numbers can be sample values; in labels, digits appear only as a status code.
      const labelValues = [...text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)]
        .filter(([, name]) => name !== 'le') // bucket bounds
        .map(([, , value]) => value!);
      assert.ok(labelValues.includes('/signup'));
      for (const digits of [code, String(user.user.id)]) {
        const found = labelValues.filter(
          (value) => new RegExp(`(^|\\D)${digits}(\\D|$)`).test(value) && !/^[1-5]\d\d$/.test(value),
        );
        assert.deepEqual(found, [], digits);
      }
    });
  });
}

describe('metrics off', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp(databaseBackends[0]!);
  });
  after(() => t.close());

  test('/metrics is not on the API, with or without METRICS_PORT, and no request durations are kept without it', async () => {
    const res = await t.app.inject('/metrics');
    assert.equal(res.statusCode, 404);
    assert.equal(res.json<{ code: string }>().code, 'not_found');
    const text = await t.deps.metrics.scrape();
    assert.doesNotMatch(text, /^http_request_duration_seconds_count/m);
    assert.doesNotMatch(text, /^process_/m);
  });
});
