import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Env } from '../../src/config.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends, TEST_REDIS_URL, type DatabaseBackend } from '../support/backends.ts';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { postSignup, requestCode, signIn, uniqueIp, uniquePhone } from '../support/signup.ts';

interface Variant {
  name: string;
  backend: DatabaseBackend;
  env: Env;
}

/** Challenges in the database and limits in memory on every database; challenges and limits in Redis. */
const variants: Variant[] = databaseBackends.map((backend) => ({
  name: `${backend.name} (challenges in the database, limits in memory)`,
  backend,
  env: {},
}));
if (TEST_REDIS_URL) {
  variants.push({
    name: `${databaseBackends.at(-1)!.name} + Redis`,
    backend: databaseBackends.at(-1)!,
    env: { REDIS_URL: TEST_REDIS_URL },
  });
}

const INVALID_OTP = { error: 'Invalid or expired OTP', code: 'invalid_otp' };

/** The verify phase's refusal: 401, the spec's message, and the scheme to use. */
function assertInvalidOtp(response: { statusCode: number; json(): unknown; headers: Record<string, unknown> }): void {
  assert.equal(response.statusCode, 401);
  assert.deepEqual(response.json(), INVALID_OTP);
  assert.equal(response.headers['www-authenticate'], 'Bearer');
}
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** A code of the right length that is not `code`. */
function wrongCode(code: string): string {
  return code === '000000' ? '000001' : '000000';
}

for (const variant of variants) {
  describe(`POST /signup on ${variant.name}`, () => {
    let fake: FakeTwilio;
    let t: TestApp;
    let skewMs = 0;
    before(async () => {
      fake = await startFakeTwilio();
      t = await buildTestApp(
        variant.backend,
        { ...variant.env, ...fake.env, SMS_MAX_ATTEMPTS: '3' },
        { smsRetryBaseDelayMs: 5, now: () => Date.now() + skewMs },
      );
    });
    after(async () => {
      await t.close();
      await fake.close();
    });
    beforeEach(() => fake.behave({ delayMs: 0, failures: 0, failureStatus: 500 }));

    test('request → SMS → verify → token → /me', async () => {
      const phone = uniquePhone();
      const ip = uniqueIp();
      const requested = await postSignup(t, { name: 'Asha', phone_number: phone }, ip);
      assert.equal(requested.statusCode, 200);
      assert.deepEqual(requested.json(), { success: true, message: 'OTP sent successfully' });

      await t.deps.background.drain();
      const sms = fake.messages().filter((m) => m.to === phone);
      assert.equal(sms.length, 1);
      assert.equal(sms[0]!.from, fake.from);
      assert.equal(sms[0]!.authorized, true);
      const match = /^Your Cheershare code is ([0-9]{6})$/.exec(sms[0]!.body ?? '');
      assert.ok(match, sms[0]!.body ?? '');

      const verified = await postSignup(t, { phone_number: phone, otp: match[1] }, ip);
      assert.equal(verified.statusCode, 200);
      const body = verified.json();
      assert.deepEqual(Object.keys(body).sort(), ['data', 'expiry', 'message', 'success', 'token']);
      assert.equal(body.success, true);
      assert.equal(body.message, 'OTP verified successfully');
      assert.match(body.token, /^[A-Z2-7]{26}$/);
      assert.match(body.expiry, RFC3339);
      const hoursLeft = (Date.parse(body.expiry) - Date.now()) / 3_600_000;
      // The column keeps whole seconds (timestamptz(0) rounds), hence the second of slack.
      assert.ok(hoursLeft > 47.9 && hoursLeft <= 48 + 1 / 3600, `expiry in ${hoursLeft} h`);
      assert.deepEqual(
        { ...body.data, id: 0, created_at: '' },
        { id: 0, created_at: '', name: 'Asha', phone_number: phone, version: 1 },
      );
      assert.ok(Number.isInteger(body.data.id) && body.data.id > 0);
      assert.match(body.data.created_at, RFC3339);

      const { rows } = await t.deps.db.query<{ hash: Uint8Array; scope: string; user_id: number }>(
        'SELECT hash, scope, user_id FROM tokens WHERE user_id = $1',
        [body.data.id],
      );
      assert.equal(rows.length, 1);
      assert.deepEqual(
        Buffer.from(rows[0]!.hash),
        createHash('sha256').update(body.token).digest(),
        'only SHA-256 of the token is stored',
      );
      assert.equal(rows[0]!.scope, 'authentication');

      const me = await t.app.inject({ url: '/me', headers: { authorization: `Bearer ${body.token}` } });
      assert.equal(me.statusCode, 200);
      assert.deepEqual(me.json(), { user: body.data });
    });

    test('a national number is stored and returned in E.164; a returning user keeps account and name', async () => {
      const first = await signIn(t, fake, '+919812345678', 'Asha');
      const ip = uniqueIp();
      skewMs += 60_000; // past the resend cooldown for this number
      const requested = await postSignup(t, { name: 'Someone Else', phone_number: '98123 45678' }, ip);
      assert.equal(requested.statusCode, 200);
      await t.deps.background.drain();
      const code = fake.codeFor('+919812345678')!;
      const verified = await postSignup(t, { phone_number: '098123-45678', otp: code, name: 'ignored' }, ip);
      assert.equal(verified.statusCode, 200);
      assert.deepEqual(verified.json().data, first.user);
      assert.equal(verified.json().data.name, 'Asha');
      assert.equal(verified.json().data.phone_number, '+919812345678');
    });

    test('the name is stored trimmed', async () => {
      const { user } = await signIn(t, fake, uniquePhone(), '  Ravi Kumar  ');
      assert.equal((user as unknown as { name: string }).name, 'Ravi Kumar');
    });

    test('a code works once', async () => {
      const phone = uniquePhone();
      const ip = uniqueIp();
      const code = await requestCode(t, fake, phone, 'Asha', ip);
      assert.equal((await postSignup(t, { phone_number: phone, otp: code }, ip)).statusCode, 200);
      const again = await postSignup(t, { phone_number: phone, otp: code }, ip);
      assertInvalidOtp(again);
    });

    test('a wrong code → 401 with WWW-Authenticate; the right one still works', async () => {
      const phone = uniquePhone();
      const ip = uniqueIp();
      const code = await requestCode(t, fake, phone, 'Asha', ip);
      const wrong = await postSignup(t, { phone_number: phone, otp: wrongCode(code) }, ip);
      assertInvalidOtp(wrong);
      assert.equal((await postSignup(t, { phone_number: phone, otp: code }, ip)).statusCode, 200);
    });

    test('no pending code → 401', async () => {
      const response = await postSignup(t, { phone_number: uniquePhone(), otp: '123456' }, uniqueIp());
      assertInvalidOtp(response);
    });

    test('after OTP_MAX_ATTEMPTS wrong codes even the right code fails until a new one is requested', async () => {
      const phone = uniquePhone();
      const ip = uniqueIp();
      const code = await requestCode(t, fake, phone, 'Asha', ip);
      for (let i = 0; i < t.config.otp.maxAttempts; i++) {
        assert.equal((await postSignup(t, { phone_number: phone, otp: wrongCode(code) }, ip)).statusCode, 401);
      }
      const right = await postSignup(t, { phone_number: phone, otp: code }, ip);
      assert.equal(right.statusCode, 401);
      assert.deepEqual(right.json(), INVALID_OTP);

      skewMs += 60_000;
      const fresh = await requestCode(t, fake, phone, 'Asha', ip);
      assert.equal((await postSignup(t, { phone_number: phone, otp: fresh }, ip)).statusCode, 200);
    });

    test('a new request invalidates the previous code', async () => {
      const phone = uniquePhone();
      const ip = uniqueIp();
      const first = await requestCode(t, fake, phone, 'Asha', ip);
      let second = first;
      while (second === first) {
        skewMs += 60_000;
        second = await requestCode(t, fake, phone, 'Asha', ip);
      }
      const old = await postSignup(t, { phone_number: phone, otp: first }, ip);
      assert.equal(old.statusCode, 401);
      assert.deepEqual(old.json(), INVALID_OTP);
      assert.equal((await postSignup(t, { phone_number: phone, otp: second }, ip)).statusCode, 200);
    });

    test('the response does not wait for the SMS: it returns while the fake Twilio holds the request', async () => {
      const phone = uniquePhone();
      fake.pause();
      try {
        const response = await postSignup(t, { name: 'Asha', phone_number: phone }, uniqueIp());
        assert.equal(response.statusCode, 200);
        assert.deepEqual(response.json(), { success: true, message: 'OTP sent successfully' });
        await fake.waitForRequests(fake.requests.filter((r) => r.to !== phone).length + 1);
        assert.equal(fake.messages().filter((m) => m.to === phone).length, 0, 'not delivered yet');
        assert.deepEqual(t.deps.background.pending(), ['sms']);
      } finally {
        fake.resume();
      }
      await t.deps.background.drain();
      assert.equal(fake.messages().filter((m) => m.to === phone).length, 1);
    });

    test('two failures then success: delivered on the third attempt, and the code works', async () => {
      const phone = uniquePhone();
      const ip = uniqueIp();
      fake.behave({ failures: 2, failureStatus: 503 });
      const code = await requestCode(t, fake, phone, 'Asha', ip);
      assert.deepEqual(
        fake.requests.filter((r) => r.to === phone).map((r) => r.status),
        [503, 503, 201],
      );
      assert.equal((await postSignup(t, { phone_number: phone, otp: code }, ip)).statusCode, 200);
    });

    test('every attempt failing: exactly SMS_MAX_ATTEMPTS requests, and the request still answered 200', async () => {
      const phone = uniquePhone();
      fake.behave({ failures: Infinity, failureStatus: 500 });
      const response = await postSignup(t, { name: 'Asha', phone_number: phone }, uniqueIp());
      assert.equal(response.statusCode, 200);
      await t.deps.background.drain();
      assert.deepEqual(
        fake.requests.filter((r) => r.to === phone).map((r) => r.status),
        [500, 500, 500],
      );
    });

    test('a number Twilio refuses (400) is tried once', async () => {
      const phone = uniquePhone();
      fake.behave({ failures: 1, failureStatus: 400 });
      assert.equal((await postSignup(t, { name: 'Asha', phone_number: phone }, uniqueIp())).statusCode, 200);
      await t.deps.background.drain();
      assert.deepEqual(
        fake.requests.filter((r) => r.to === phone).map((r) => r.status),
        [400],
      );
    });

    test('/signup ignores the Authorization header: a stale or malformed token never blocks signing in', async () => {
      for (const authorization of ['Bearer AAAAAAAAAAAAAAAAAAAAAAAAAA', 'Bearer nonsense', 'Basic Zm9vOmJhcg==']) {
        const phone = uniquePhone();
        const ip = uniqueIp();
        const requested = await postSignup(t, { name: 'Asha', phone_number: phone }, ip, { authorization });
        assert.equal(requested.statusCode, 200, authorization);
        await t.deps.background.drain();
        const verified = await postSignup(t, { phone_number: phone, otp: fake.codeFor(phone) }, ip, { authorization });
        assert.equal(verified.statusCode, 200, authorization);
      }
    });

    describe('bodies', () => {
      /** `payload` sent as it is, as JSON. */
      const postJsonText = (payload: string, remoteAddress?: string) =>
        postSignup(t, payload, remoteAddress, { 'content-type': 'application/json' });
      const cases: [string, unknown, RegExp][] = [
        ['missing phone_number', { name: 'Asha' }, /^body is missing field "phone_number"$/],
        ['unknown field', { name: 'Asha', phone_number: '9876543210', admin: true }, /^body has unknown field "admin"$/],
        ['name of the wrong type', { name: 123, phone_number: '9876543210' }, /^body\.name must be string$/],
        ['phone_number of the wrong type', { name: 'Asha', phone_number: 9876543210 }, /^body\.phone_number must be string$/],
        ['otp of the wrong type', { phone_number: '9876543210', otp: 123456 }, /^body\.otp must be string$/],
        ['null name', { name: null, phone_number: '9876543210' }, /^body\.name must be string$/],
        ['an array', [{ name: 'Asha', phone_number: '9876543210' }], /^body must be object$/],
        ['a string', 'hello', /^body must be object$/],
        ['missing name when requesting', { phone_number: '9876543210' }, /^name is required to request a code$/],
        ['an invalid number', { name: 'Asha', phone_number: '12345' }, /^phone_number is not a valid phone number$/],
        [
          'a number of the right length that cannot exist',
          { name: 'Asha', phone_number: '5555555555' },
          /^phone_number is not a valid phone number$/,
        ],
        ['an empty name', { name: '   ', phone_number: '9876543210' }, /^name must not be empty$/],
        ['a 101-character name', { name: 'x'.repeat(101), phone_number: '9876543210' }, /^name must be at most 100 characters$/],
        ['a NUL in the name', { name: 'As\u0000ha', phone_number: '9876543210' }, /^name must not contain control characters$/],
        [
          'a newline in the name',
          { name: 'Asha\nKumar', phone_number: '9876543210' },
          /^name must not contain control characters$/,
        ],
        ['an otp too short', { phone_number: '9876543210', otp: '12345' }, /^otp must be 6 digits$/],
        ['an otp with letters', { phone_number: '9876543210', otp: '12345a' }, /^otp must be 6 digits$/],
        [
          'a very long phone_number',
          { name: 'Asha', phone_number: '9'.repeat(65) },
          /^body\.phone_number must NOT have more than 64 characters$/,
        ],
      ];
      for (const [label, body, message] of cases) {
        test(`${label} → 400 naming the problem`, async () => {
          const response = await postJsonText(JSON.stringify(body), uniqueIp());
          assert.equal(response.statusCode, 400, response.body);
          assert.match(response.json().error, message);
        });
      }

      test('malformed JSON → 400', async () => {
        for (const payload of ['{"name": "Asha",', '{"name": "Asha"} {"x": 1}', "{'name': 'Asha'}"]) {
          const response = await postJsonText(payload);
          assert.equal(response.statusCode, 400, payload);
          assert.deepEqual(response.json(), {
            error: "Body is not valid JSON but content-type is set to 'application/json'",
            code: 'invalid_json',
          });
        }
      });

      test('an empty JSON body → 400', async () => {
        const response = await postJsonText('');
        assert.equal(response.statusCode, 400);
        assert.deepEqual(response.json(), {
          error: "Body cannot be empty when content-type is set to 'application/json'",
          code: 'invalid_json',
        });
      });

      test('a body over 100 KiB → 413; just under is read (and refused for its content)', async () => {
        const big = JSON.stringify({ name: 'x'.repeat(100 * 1024), phone_number: '9876543210' });
        const tooLarge = await postJsonText(big);
        assert.equal(tooLarge.statusCode, 413);
        assert.deepEqual(tooLarge.json(), { error: 'Request body is too large', code: 'body_too_large' });
        const under = JSON.stringify({ name: 'x'.repeat(100 * 1024 - 60), phone_number: '9876543210' });
        assert.ok(Buffer.byteLength(under) <= 100 * 1024);
        const read = await postJsonText(under);
        assert.equal(read.statusCode, 400);
        assert.deepEqual(read.json(), { error: 'name must be at most 100 characters', code: 'validation_failed', field: 'name' });
      });

      test('a form-encoded body → 415; plain text → 400', async () => {
        const post = (contentType: string) => postSignup(t, 'name=Asha', undefined, { 'content-type': contentType });
        const form = await post('application/x-www-form-urlencoded');
        assert.equal(form.statusCode, 415);
        assert.deepEqual(form.json(), { error: 'Unsupported Media Type', code: 'unsupported_media_type' });
        const text = await post('text/plain');
        assert.equal(text.statusCode, 400);
        assert.deepEqual(text.json(), { error: 'body must be object', code: 'validation_failed' });
      });
    });
  });
}

/** Limits, with a clock the tests move. */
for (const variant of variants) {
  describe(`signup limits on ${variant.name}`, () => {
    let fake: FakeTwilio;
    let t: TestApp;
    let skewMs = 0;
    before(async () => {
      fake = await startFakeTwilio();
      t = await buildTestApp(
        variant.backend,
        {
          ...variant.env,
          ...fake.env,
          OTP_RESEND_SECONDS: '30',
          OTP_PER_NUMBER_PER_HOUR: '3',
          OTP_PER_IP_PER_HOUR: '5',
          VERIFY_PER_IP_PER_HOUR: '3',
        },
        { smsRetryBaseDelayMs: 5, now: () => Date.now() + skewMs },
      );
    });
    after(async () => {
      await t.close();
      await fake.close();
    });

    const ask = (phone: string, ip: string) => postSignup(t, { name: 'Asha', phone_number: phone }, ip);

    test('resend cooldown per number: 429 with Retry-After counting down, then allowed', async () => {
      const phone = uniquePhone();
      assert.equal((await ask(phone, uniqueIp())).statusCode, 200);
      const refused = await ask(phone, uniqueIp());
      assert.equal(refused.statusCode, 429);
      assert.deepEqual(refused.json(), {
        error: 'a code was just sent to this number; wait before requesting another',
        code: 'rate_limited',
      });
      assert.ok(['29', '30'].includes(String(refused.headers['retry-after'])), String(refused.headers['retry-after']));
      skewMs += 20_000;
      const later = await ask(phone, uniqueIp());
      assert.equal(later.statusCode, 429);
      assert.ok(['9', '10'].includes(String(later.headers['retry-after'])), String(later.headers['retry-after']));
      skewMs += 10_000;
      assert.equal((await ask(phone, uniqueIp())).statusCode, 200);
    });

    test('OTP_PER_NUMBER_PER_HOUR: the next code waits until the oldest leaves the hour', async () => {
      const phone = uniquePhone();
      for (let i = 0; i < 3; i++) {
        assert.equal((await ask(phone, uniqueIp())).statusCode, 200);
        skewMs += 60_000;
      }
      const refused = await ask(phone, uniqueIp());
      assert.equal(refused.statusCode, 429);
      assert.deepEqual(refused.json(), {
        error: 'too many codes requested for this number; try again later',
        code: 'rate_limited',
      });
      const retryAfter = Number(refused.headers['retry-after']);
      assert.ok(retryAfter > 3600 - 181 && retryAfter <= 3600 - 180, `Retry-After ${retryAfter}`);
      skewMs += retryAfter * 1000;
      assert.equal((await ask(phone, uniqueIp())).statusCode, 200);
    });

    test('OTP_PER_IP_PER_HOUR: a sixth request from one address → 429; another address is not affected', async () => {
      const ip = uniqueIp();
      for (let i = 0; i < 5; i++) assert.equal((await ask(uniquePhone(), ip)).statusCode, 200);
      const refused = await ask(uniquePhone(), ip);
      assert.equal(refused.statusCode, 429);
      assert.deepEqual(refused.json(), {
        error: 'too many code requests from this address; try again later',
        code: 'rate_limited',
      });
      assert.ok(['3599', '3600'].includes(String(refused.headers['retry-after'])), String(refused.headers['retry-after']));
      assert.equal((await ask(uniquePhone(), uniqueIp())).statusCode, 200);
    });

    test('requests refused with 4xx count toward no limit', async () => {
      const ip = uniqueIp();
      const phone = uniquePhone();
      for (let i = 0; i < 10; i++) {
        assert.equal((await postSignup(t, { name: '', phone_number: phone }, ip)).statusCode, 400);
        assert.equal((await postSignup(t, { name: 'Asha', phone_number: '12345' }, ip)).statusCode, 400);
        assert.equal((await postSignup(t, { name: 'Asha', phone_number: phone, extra: 1 }, ip)).statusCode, 400);
      }
      // The number's cooldown and hourly count, and the address's count, are all untouched.
      assert.equal((await ask(phone, ip)).statusCode, 200);
      // Refused by the cooldown: these do not count toward the address's limit of 5 either.
      for (let i = 0; i < 10; i++) assert.equal((await ask(phone, ip)).statusCode, 429);
      for (let i = 0; i < 4; i++) assert.equal((await ask(uniquePhone(), ip)).statusCode, 200);
      assert.equal((await ask(uniquePhone(), ip)).statusCode, 429);
    });

    test('VERIFY_PER_IP_PER_HOUR counts failed verifications only; past it even the right code → 429', async () => {
      const ip = uniqueIp();
      // Successful sign-ins from this address do not count.
      for (let i = 0; i < 4; i++) {
        const phone = uniquePhone();
        const code = await requestCode(t, fake, phone, 'Asha', uniqueIp());
        assert.equal((await postSignup(t, { phone_number: phone, otp: code }, ip)).statusCode, 200);
      }
      const phone = uniquePhone();
      const code = await requestCode(t, fake, phone, 'Asha', uniqueIp());
      for (let i = 0; i < 3; i++) {
        const wrong = await postSignup(t, { phone_number: uniquePhone(), otp: '123456' }, ip);
        assert.equal(wrong.statusCode, 401);
      }
      const refused = await postSignup(t, { phone_number: phone, otp: code }, ip);
      assert.equal(refused.statusCode, 429);
      assert.deepEqual(refused.json(), {
        error: 'too many failed verification attempts from this address; try again later',
        code: 'rate_limited',
      });
      assert.ok(['3599', '3600'].includes(String(refused.headers['retry-after'])), String(refused.headers['retry-after']));
      // The refused request did not touch the challenge: from another address the code works.
      assert.equal((await postSignup(t, { phone_number: phone, otp: code }, uniqueIp())).statusCode, 200);
      skewMs += 3_600_000;
      assert.equal((await postSignup(t, { phone_number: uniquePhone(), otp: '123456' }, ip)).statusCode, 401, 'an hour later');
    });

    test('without TRUST_PROXY, X-Forwarded-For is ignored: one connection is one client', async () => {
      const ip = uniqueIp();
      for (let i = 0; i < 5; i++) {
        const response = await postSignup(t, { name: 'Asha', phone_number: uniquePhone() }, ip, {
          'x-forwarded-for': `198.51.100.${i}`,
        });
        assert.equal(response.statusCode, 200);
      }
      const refused = await postSignup(t, { name: 'Asha', phone_number: uniquePhone() }, ip, {
        'x-forwarded-for': '198.51.100.99',
      });
      assert.equal(refused.statusCode, 429);
    });
  });
}

describe('signup behind a proxy (TRUST_PROXY=true)', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp(databaseBackends[0]!, { TRUST_PROXY: 'true', OTP_PER_IP_PER_HOUR: '2', LOG_LEVEL: 'silent' });
  });
  after(() => t.close());

  test('the client address comes from X-Forwarded-For', async () => {
    const proxy = uniqueIp();
    const ask = (client: string) =>
      postSignup(t, { name: 'Asha', phone_number: uniquePhone() }, proxy, { 'x-forwarded-for': client });
    assert.equal((await ask('198.51.100.1')).statusCode, 200);
    assert.equal((await ask('198.51.100.1')).statusCode, 200);
    assert.equal((await ask('198.51.100.1')).statusCode, 429);
    assert.equal((await ask('198.51.100.2')).statusCode, 200, 'another client behind the same proxy');
  });
});

describe('signup code expiry', () => {
  let fake: FakeTwilio;
  let t: TestApp;
  before(async () => {
    fake = await startFakeTwilio();
    t = await buildTestApp(databaseBackends[0]!, { ...fake.env, OTP_TTL_SECONDS: '1' });
  });
  after(async () => {
    await t.close();
    await fake.close();
  });

  test('a code is refused once OTP_TTL_SECONDS have passed', async () => {
    const phone = uniquePhone();
    const ip = uniqueIp();
    const code = await requestCode(t, fake, phone, 'Asha', ip);
    await sleep(1_300);
    const response = await postSignup(t, { phone_number: phone, otp: code }, ip);
    assert.equal(response.statusCode, 401);
    assert.deepEqual(response.json(), INVALID_OTP);
  });
});
