import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import lib from 'google-libphonenumber';
import { getExampleNumber, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import mobileExamples from 'libphonenumber-js/examples.mobile.json';
import type { Env } from '../../src/config.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends, TEST_REDIS_URL, type DatabaseBackend } from '../support/backends.ts';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { capturingLogger } from '../support/log-capture.ts';
import { postSignup, uniqueIp, uniquePhone } from '../support/signup.ts';
import { createSignedInUser } from '../support/users.ts';

interface Variant {
  name: string;
  backend: DatabaseBackend;
  env: Env;
}

/** Limits in memory and the SMS budget in the database on every database; both in Redis. */
const variants: Variant[] = databaseBackends.map((backend) => ({ name: `${backend.name}`, backend, env: {} }));
if (TEST_REDIS_URL) {
  variants.push({
    name: `${databaseBackends.at(-1)!.name} + Redis`,
    backend: databaseBackends.at(-1)!,
    env: { REDIS_URL: TEST_REDIS_URL },
  });
}

const HOUR_MS = 3_600_000;
// The fake Twilio needs one (SMS_PROVIDER=twilio).
const SECRET = { APP_SECRET: 'a-test-secret-of-some-length' };
const phoneUtil = lib.PhoneNumberUtil.getInstance();

type Response = Awaited<ReturnType<typeof postSignup>>;

function assertRefused(response: Response, status: number, code: string, field?: string): void {
  assert.equal(response.statusCode, status, response.body);
  const body = response.json<{ code: string; field?: string }>();
  assert.equal(body.code, code);
  assert.equal(body.field, field);
}

/** A 429 (or 503) whose Retry-After is exactly `seconds`. */
function assertRetryAfter(response: Response, status: number, code: string, seconds: number): void {
  assertRefused(response, status, code);
  assert.equal(response.headers['retry-after'], String(seconds));
}

/** `count` numbers that share all but their last four digits (and with no other test's numbers). */
function numbersInOneRange(count: number): string[] {
  const range = uniquePhone().slice(0, -4);
  return Array.from({ length: count }, (_, i) => `${range}${String(i + 1).padStart(4, '0')}`);
}

const requestCode = (t: TestApp, phone: string, ip = uniqueIp(), headers: Record<string, string> = {}) =>
  postSignup(t, { name: 'Asha', phone_number: phone }, ip, headers);

/** libphonenumber's own example numbers of `type`, E.164, for every region that has one. */
function exampleNumbers(type: lib.PhoneNumberType): { region: string; e164: string }[] {
  return phoneUtil.getSupportedRegions().flatMap((region) => {
    const example = phoneUtil.getExampleNumberForType(region, type);
    // Some regions' "fixed line" examples are indistinguishable from mobiles (FIXED_LINE_OR_MOBILE):
    // those may be sent codes.
    if (!example || phoneUtil.getNumberType(example) !== type) return [];
    return [{ region, e164: phoneUtil.format(example, lib.PhoneNumberFormat.E164) }];
  });
}

for (const variant of variants) {
  describe(`POST /signup abuse limits on ${variant.name}`, () => {
    let fake: FakeTwilio;
    before(async () => {
      fake = await startFakeTwilio();
    });
    after(() => fake.close());

    describe('regions, number types, ranges and addresses', () => {
      let t: TestApp;
      // Frozen: each Retry-After is then exact.
      let clock = Date.now();
      before(async () => {
        t = await buildTestApp(
          variant.backend,
          {
            ...variant.env,
            ...fake.env,
            ...SECRET,
            OTP_ALLOWED_COUNTRIES: 'IN,GB',
            OTP_PER_PREFIX_PER_HOUR: '3',
            OTP_PER_IP_PER_HOUR: '2',
            OTP_PER_NUMBER_PER_HOUR: '5',
            VERIFY_PER_IP_PER_HOUR: '3',
            TRUST_PROXY: '127.0.0.1',
          },
          { now: () => clock },
        );
      });
      after(() => t.close());

      test('a region outside OTP_ALLOWED_COUNTRIES → 400 country_not_allowed; the listed ones get codes', async () => {
        const us = getExampleNumber('US', mobileExamples)!.number;
        assertRefused(await requestCode(t, us), 400, 'country_not_allowed', 'phone_number');
        const gb = getExampleNumber('GB', mobileExamples)!.number;
        assert.equal((await requestCode(t, gb)).statusCode, 200);
        // A national number is read for DEFAULT_COUNTRY (IN), which is allowed.
        assert.equal((await requestCode(t, uniquePhone().slice(3))).statusCode, 200);
      });

      test('premium-rate, toll-free and landline numbers of allowed regions → 400 number_type_not_allowed', async () => {
        const ip = uniqueIp();
        for (const type of [lib.PhoneNumberType.PREMIUM_RATE, lib.PhoneNumberType.TOLL_FREE, lib.PhoneNumberType.FIXED_LINE]) {
          for (const { e164 } of exampleNumbers(type).filter(({ region }) => region === 'IN' || region === 'GB')) {
            assertRefused(await requestCode(t, e164, ip), 400, 'number_type_not_allowed', 'phone_number');
          }
        }
        // The issue's own examples: +44 909 premium rate (GB is allowed here).
        assertRefused(await requestCode(t, '+449098790000', ip), 400, 'number_type_not_allowed', 'phone_number');
        // None of those refusals counted toward this address's limit of 2.
        assert.equal((await requestCode(t, uniquePhone(), ip)).statusCode, 200);
        assert.equal((await requestCode(t, uniquePhone(), ip)).statusCode, 200);
        assertRefused(await requestCode(t, uniquePhone(), ip), 429, 'rate_limited');
      });

      test('OTP_PER_PREFIX_PER_HOUR: the fourth code to one number range is refused until the first leaves the hour', async () => {
        const [a, b, c, d] = numbersInOneRange(4) as [string, string, string, string];
        assert.equal((await requestCode(t, a)).statusCode, 200);
        clock += 60_000;
        assert.equal((await requestCode(t, b)).statusCode, 200);
        assert.equal((await requestCode(t, c)).statusCode, 200);
        assertRetryAfter(await requestCode(t, d), 429, 'rate_limited', 3600 - 60);
        // Refused requests counted toward nothing: the number itself is not in its resend wait.
        clock += HOUR_MS - 60_000 - 1;
        assertRetryAfter(await requestCode(t, d), 429, 'rate_limited', 1);
        clock += 1;
        assert.equal((await requestCode(t, d)).statusCode, 200);
      });

      test('an IPv6 client counts per /64; its /48 may make 4 × OTP_PER_IP_PER_HOUR', async () => {
        const net48 = `2001:db8:${(process.pid % 0xffff).toString(16)}`;
        // Two per /64 (the limit), in four /64s of one /48: eight, the /48's allowance.
        for (let subnet = 1; subnet <= 4; subnet++) {
          assert.equal((await requestCode(t, uniquePhone(), `${net48}:${subnet}::1`)).statusCode, 200);
          assert.equal((await requestCode(t, uniquePhone(), `${net48}:${subnet}::ffff`)).statusCode, 200);
          // Another address of the same /64 is the same client.
          assertRetryAfter(await requestCode(t, uniquePhone(), `${net48}:${subnet}:abcd::9`), 429, 'rate_limited', 3600);
        }
        assertRetryAfter(await requestCode(t, uniquePhone(), `${net48}:5::1`), 429, 'rate_limited', 3600);
        // A different /48 is not affected.
        assert.equal(
          (await requestCode(t, uniquePhone(), `2001:db9:${(process.pid % 0xffff).toString(16)}:5::1`)).statusCode,
          200,
        );
      });

      test('VERIFY_PER_IP_PER_HOUR counts per /64, and a /48 at 4×: ten /64s of one /48 no longer all get 401', async () => {
        const net48 = `2001:db8:${((process.pid + 1) % 0xffff).toString(16)}`;
        const phone = uniquePhone();
        assert.equal((await requestCode(t, phone)).statusCode, 200);
        const guess = (ip: string) => postSignup(t, { phone_number: phone, otp: '000000' }, ip);
        // Three per /64 (the limit) in four /64s: twelve, the /48's allowance.
        for (let subnet = 1; subnet <= 4; subnet++) {
          for (let i = 1; i <= 3; i++) assert.equal((await guess(`${net48}:${subnet}::${i}`)).statusCode, 401);
          assertRetryAfter(await guess(`${net48}:${subnet}::ff`), 429, 'rate_limited', 3600);
        }
        assertRetryAfter(await guess(`${net48}:5::1`), 429, 'rate_limited', 3600);
        // Another /48 is not affected.
        assert.equal((await guess(`2001:db9:${((process.pid + 1) % 0xffff).toString(16)}:5::1`)).statusCode, 401);
      });

      test('X-Forwarded-For: spoofed by a client, or garbage through the trusted proxy, never escapes the per-address limit', async () => {
        // From an untrusted address the header is ignored: the socket's address counts.
        const direct = uniqueIp();
        for (let i = 0; i < 2; i++) {
          assert.equal((await requestCode(t, uniquePhone(), direct, { 'x-forwarded-for': `198.51.100.${i}` })).statusCode, 200);
        }
        assertRefused(await requestCode(t, uniquePhone(), direct, { 'x-forwarded-for': '198.51.100.9' }), 429, 'rate_limited');
        // Through the trusted proxy (127.0.0.1) the client is the entry it appended; what the client wrote before it is ignored.
        const client = `203.0.113.${process.pid % 200}`;
        for (let i = 0; i < 2; i++) {
          const forwarded = `198.51.100.${i}, ${client}`;
          assert.equal((await requestCode(t, uniquePhone(), '127.0.0.1', { 'x-forwarded-for': forwarded })).statusCode, 200);
        }
        const spoofed = { 'x-forwarded-for': `198.51.100.77, ${client}` };
        assertRetryAfter(await requestCode(t, uniquePhone(), '127.0.0.1', spoofed), 429, 'rate_limited', 3600);
        // Entries that are not addresses are ignored: the next trusted one (here the proxy itself) counts.
        for (let i = 0; i < 2; i++) {
          const garbage = { 'x-forwarded-for': `not-an-ip-${i}` };
          assert.equal((await requestCode(t, uniquePhone(), '127.0.0.1', garbage)).statusCode, 200);
        }
        const garbage = { 'x-forwarded-for': `garbage-${Math.random()}, also garbage` };
        assertRefused(await requestCode(t, uniquePhone(), '127.0.0.1', garbage), 429, 'rate_limited');
      });

      test('VERIFY_PER_IP_PER_HOUR counts failed verifications only, and its 429 says when to retry', async () => {
        const ip = uniqueIp();
        const phone = uniquePhone();
        assert.equal((await requestCode(t, phone)).statusCode, 200);
        for (let i = 0; i < 3; i++)
          assert.equal((await postSignup(t, { phone_number: phone, otp: '000000' }, ip)).statusCode, 401);
        // Malformed codes are refused with 400 before they count.
        assertRefused(await postSignup(t, { phone_number: phone, otp: '12' }, ip), 400, 'validation_failed', 'otp');
        assertRetryAfter(await postSignup(t, { phone_number: phone, otp: '000000' }, ip), 429, 'rate_limited', 3600);
      });
    });

    describe('every region and number type (OTP_ALLOWED_COUNTRIES=*)', () => {
      let t: TestApp;
      before(async () => {
        t = await buildTestApp(variant.backend, { ...variant.env, OTP_ALLOWED_COUNTRIES: '*', SMS_PER_HOUR: '100000' });
      });
      after(() => t.close());

      test("libphonenumber's example numbers: only mobiles get codes", async () => {
        const refusedTypes = [
          'PREMIUM_RATE',
          'TOLL_FREE',
          'SHARED_COST',
          'FIXED_LINE',
          'PAGER',
          'UAN',
          'VOICEMAIL',
          'VOIP',
        ] as const;
        const ip = uniqueIp();
        let refused = 0;
        const disagreements: string[] = [];
        for (const name of refusedTypes) {
          for (const { region, e164 } of exampleNumbers(lib.PhoneNumberType[name])) {
            const response = await requestCode(t, e164, ip);
            // The two libraries' metadata differ by a release here and there: a number the one
            // the server uses types as a mobile (or no longer knows) is told apart, never sent a code unseen.
            if (response.statusCode === 200) {
              disagreements.push(e164);
              assert.match(parsePhoneNumberFromString(e164)?.getType() ?? '', /^(MOBILE|FIXED_LINE_OR_MOBILE)$/);
              continue;
            }
            assert.equal(response.statusCode, 400, `${name} ${region} ${e164}`);
            const { code } = response.json<{ code: string }>();
            if (code === 'number_type_not_allowed') refused++;
            else assert.equal(code, 'validation_failed', `${name} ${region} ${e164}`);
          }
        }
        assert.ok(refused > 800, `${refused} example numbers refused by type`);
        assert.ok(disagreements.length <= 5, `the libraries disagree on: ${disagreements.join(', ')}`);
        // Regions that share a numbering plan may share an example: each number once.
        const mobiles = new Set(
          phoneUtil.getSupportedRegions().flatMap((region) => getExampleNumber(region, mobileExamples)?.number ?? []),
        );
        let sent = 0;
        for (const number of mobiles) {
          if (disagreements.includes(number)) continue; // already sent one
          assert.equal((await requestCode(t, number, uniqueIp())).statusCode, 200, number);
          sent++;
        }
        assert.ok(sent > 200, `${sent} mobile examples sent codes`);
      });
    });

    describe('SMS_PER_HOUR', () => {
      let t: TestApp;
      let skewMs = 0;
      const capture = capturingLogger();
      before(async () => {
        t = await buildTestApp(
          variant.backend,
          { ...variant.env, ...fake.env, ...SECRET, SMS_PER_HOUR: '3', SMS_RESERVED_FOR_KNOWN_PERCENT: '0' },
          { now: () => Date.now() + skewMs },
          capture.logger,
        );
      });
      after(() => t.close());

      test('past the budget: 503 sms_budget_exhausted until the next hour, one alert, and the refusal counts toward nothing', async () => {
        // Ten seconds before the next hour.
        skewMs = HOUR_MS - (Date.now() % HOUR_MS) - 10_000;
        const sentBefore = fake.messages().length;
        for (let i = 0; i < 3; i++) assert.equal((await requestCode(t, uniquePhone())).statusCode, 200);
        const phone = uniquePhone();
        const ip = uniqueIp();
        assertRetryAfter(await requestCode(t, phone, ip), 503, 'sms_budget_exhausted', 10);
        assertRetryAfter(await requestCode(t, uniquePhone()), 503, 'sms_budget_exhausted', 10);
        await t.deps.background.drain();
        assert.equal(fake.messages().length - sentBefore, 3);
        const alerts = capture.lines.filter((line) => line.level === 50 && /SMS_PER_HOUR/.test(String(line.msg)));
        assert.equal(alerts.length, 1, 'one error line for the hour, however many refusals');
        // The next hour: the refused number gets its code (its resend wait never started), from the same address.
        skewMs += 10_000;
        assert.equal((await requestCode(t, phone, ip)).statusCode, 200);
      });
    });

    describe('SMS_RESERVED_FOR_KNOWN_PERCENT', () => {
      let t: TestApp;
      const clock = Math.floor(Date.now() / HOUR_MS) * HOUR_MS + 60_000;
      const capture = capturingLogger();
      before(async () => {
        t = await buildTestApp(
          variant.backend,
          { ...variant.env, ...fake.env, ...SECRET, SMS_PER_HOUR: '4', OTP_ALLOWED_COUNTRIES: 'IN,GB' },
          { now: () => clock },
          capture.logger,
        );
      });
      after(() => t.close());

      test('pumping new numbers spends only their half (one country at most half of that): people with an account still get codes', async () => {
        const returning = await createSignedInUser(t.deps.db);
        // New numbers of +91: half of the new share (1 of 2), then 503 with Retry-After to the hour.
        assert.equal((await requestCode(t, uniquePhone())).statusCode, 200);
        assertRetryAfter(await requestCode(t, uniquePhone()), 503, 'sms_budget_exhausted', 3600 - 60);
        // Another calling code (+44) has the other half.
        assert.equal((await requestCode(t, '+447400123456')).statusCode, 200);
        assertRetryAfter(await requestCode(t, '+447400123457'), 503, 'sms_budget_exhausted', 3600 - 60);
        // Returning people keep their share: the review's lock-out does not happen.
        assert.equal((await requestCode(t, returning.user.phone_number)).statusCode, 200);
        const halfWarnings = capture.lines.filter((line) => line.level === 40 && /half of SMS_PER_HOUR/.test(String(line.msg)));
        assert.equal(halfWarnings.length, 1, 'one warning past half the budget');
        const text = await t.deps.metrics.scrape();
        assert.match(text, /^sms_budget_share_used\{share="new"\} 2$/m);
        assert.match(text, /^sms_budget_share_used\{share="known"\} 1$/m);
        assert.match(text, /^sms_budget_share_limit\{share="known"\} 2$/m);
        await t.deps.background.drain();
      });
    });

    describe('OTP_TEST_NUMBERS', () => {
      const testNumber = uniquePhone();
      const code = '424242';

      test('outside production: the fixed code, nothing sent, no send limits; verify limits, single use and attempts apply', async () => {
        const t = await buildTestApp(variant.backend, {
          ...variant.env,
          ...fake.env,
          ...SECRET,
          OTP_TEST_NUMBERS: `${testNumber}=${code}`,
          OTP_PER_IP_PER_HOUR: '1',
          VERIFY_PER_IP_PER_HOUR: '6',
          OTP_MAX_ATTEMPTS: '3',
          SMS_PER_HOUR: '1',
        });
        try {
          const ip = uniqueIp();
          // Past the resend wait, the per-address limit and the SMS budget.
          for (let i = 0; i < 3; i++) assert.equal((await requestCode(t, testNumber, ip)).statusCode, 200);
          await t.deps.background.drain();
          assert.equal(fake.messages().filter((m) => m.to === testNumber).length, 0);
          const verified = await postSignup(t, { phone_number: testNumber, otp: code }, ip);
          assert.equal(verified.statusCode, 200);
          assert.equal(verified.json().data.phone_number, testNumber);
          // Single use: a failure, counted against the number.
          assert.equal((await postSignup(t, { phone_number: testNumber, otp: code }, ip)).statusCode, 401);
          // The review's brute force: a new request between guesses no longer resets the count.
          for (let i = 0; i < 2; i++) {
            assert.equal((await requestCode(t, testNumber, uniqueIp())).statusCode, 200);
            assert.equal((await postSignup(t, { phone_number: testNumber, otp: '000000' }, uniqueIp())).statusCode, 401);
          }
          // OTP_MAX_ATTEMPTS (3) wrong codes: the number is locked for the hour, from any address, even with a new code.
          assert.equal((await requestCode(t, testNumber, uniqueIp())).statusCode, 200);
          assertRetryAfter(await postSignup(t, { phone_number: testNumber, otp: code }, uniqueIp()), 429, 'rate_limited', 3600);
        } finally {
          await t.close();
        }
      });

      test('in production: works before OTP_TEST_NUMBERS_UNTIL, is an ordinary number from then on; start-up logs the count only', async () => {
        let skewMs = 0;
        const capture = capturingLogger();
        const until = new Date(Date.now() + 2 * 24 * HOUR_MS).toISOString().slice(0, 10);
        const t = await buildTestApp(
          variant.backend,
          {
            ...variant.env,
            ...fake.env,
            ...SECRET,
            ENV: 'production',
            APP_SECRET: 'a-production-secret-for-tests',
            OTP_TEST_NUMBERS: `${testNumber}=${code}`,
            OTP_TEST_NUMBERS_UNTIL: until,
          },
          { now: () => Date.now() + skewMs },
          capture.logger,
        );
        try {
          assert.ok(
            capture.lines.some((line) => line.testNumbers === 1),
            'start-up says how many',
          );
          assert.ok(!capture.text().includes(code), 'never the code');
          const untilMs = t.config.otpTestNumbersUntil!.getTime();
          skewMs = untilMs - Date.now() - 1_000;
          const ip = uniqueIp();
          assert.equal((await requestCode(t, testNumber, ip)).statusCode, 200);
          assert.equal((await postSignup(t, { phone_number: testNumber, otp: code }, ip)).statusCode, 200);
          skewMs = untilMs - Date.now();
          const sentBefore = fake.messages().filter((m) => m.to === testNumber).length;
          assert.equal((await requestCode(t, testNumber, ip)).statusCode, 200);
          await t.deps.background.drain();
          assert.equal(fake.messages().filter((m) => m.to === testNumber).length, sentBefore + 1, 'a real SMS now');
          assert.equal((await postSignup(t, { phone_number: testNumber, otp: code }, ip)).statusCode, 401);
        } finally {
          await t.close();
        }
      });
    });
  });
}
