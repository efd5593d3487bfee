import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { BackgroundTasks } from '../../src/platform/background.ts';
import { loadConfig } from '../../src/config.ts';
import { Metrics } from '../../src/platform/metrics.ts';
import { AuthMetrics } from '../../src/auth/metrics.ts';
import { backoffDelay, retry } from '../../src/platform/retry.ts';
import { ConsoleSmsProvider } from '../../src/auth/sms/console.ts';
import { createSmsProvider } from '../../src/auth/sms/create.ts';
import { SmsError } from '../../src/auth/sms/provider.ts';
import { SmsSender } from '../../src/auth/sms/sender.ts';
import { TwilioSmsProvider } from '../../src/auth/sms/twilio.ts';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { capturingLogger, containsCode } from '../support/log-capture.ts';
import { freePort } from '../support/server-process.ts';

describe('retry with backoff', () => {
  test('delays start near 0.5 s, double, are capped at 8 s, and are jittered by ±25 %', () => {
    const exact = (attempt: number) => backoffDelay(attempt, 500, 8_000, () => 0.5);
    assert.deepEqual([1, 2, 3, 4, 5, 6, 10].map(exact), [500, 1000, 2000, 4000, 8000, 8000, 8000]);
    assert.equal(
      backoffDelay(1, 500, 8_000, () => 0),
      375,
    );
    assert.equal(
      backoffDelay(1, 500, 8_000, () => 0.999999),
      625,
    );
    assert.equal(
      backoffDelay(9, 500, 8_000, () => 0.999999),
      10_000,
    );
  });

  test('retries until success and reports each failure with the delay that follows', async () => {
    const failures: [number, number | undefined][] = [];
    const result = await retry(
      async (attempt) => {
        if (attempt < 3) throw new Error(`fail ${attempt}`);
        return `ok on ${attempt}`;
      },
      {
        attempts: 5,
        baseDelayMs: 1,
        maxDelayMs: 4,
        random: () => 0.5,
        shouldRetry: () => true,
        onFailedAttempt: (_error, attempt, next) => failures.push([attempt, next]),
      },
    );
    assert.equal(result, 'ok on 3');
    assert.deepEqual(failures, [
      [1, 1],
      [2, 2],
    ]);
  });

  test('stops after `attempts`, or at once when an error is not worth retrying', async () => {
    const options = { attempts: 4, baseDelayMs: 1, maxDelayMs: 1, shouldRetry: (e: unknown) => (e as Error).message !== 'fatal' };
    for (const [message, expectedCalls] of [
      ['again', 4],
      ['fatal', 1],
    ] as const) {
      let calls = 0;
      await assert.rejects(
        retry(async () => {
          calls++;
          throw new Error(message);
        }, options),
        new RegExp(message),
      );
      assert.equal(calls, expectedCalls, message);
    }
  });
});

describe('Twilio provider against a fake Twilio', () => {
  let fake: FakeTwilio;
  let provider: TwilioSmsProvider;
  before(async () => {
    fake = await startFakeTwilio();
    provider = new TwilioSmsProvider({
      accountSid: fake.accountSid,
      authToken: fake.authToken,
      from: fake.from,
      apiBase: fake.url,
    });
  });
  after(() => fake.close());
  beforeEach(() => fake.behave({ delayMs: 0, failures: 0, failureStatus: 500 }));

  test('posts To/From/Body form-encoded to the Messages API with basic auth', async () => {
    await provider.send('+919876543210', 'Your Cheershare code is 123456');
    const request = fake.requests.at(-1)!;
    assert.deepEqual(request, {
      method: 'POST',
      path: `/2010-04-01/Accounts/${fake.accountSid}/Messages.json`,
      contentType: 'application/x-www-form-urlencoded;charset=UTF-8',
      authorized: true,
      to: '+919876543210',
      from: fake.from,
      body: 'Your Cheershare code is 123456',
      status: 201,
    });
  });

  for (const [status, retryable] of [
    [400, false],
    [401, false],
    [429, true],
    [500, true],
    [503, true],
  ] as const) {
    test(`a ${status} answer is an SmsError that is ${retryable ? '' : 'not '}retryable, without the message text`, async () => {
      fake.behave({ failures: 1, failureStatus: status });
      const error = await provider.send('+919876543210', 'Your Cheershare code is 654321').then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof SmsError);
      assert.equal(error.status, status);
      assert.equal(error.retryable, retryable);
      assert.match(error.message, new RegExp(`^Twilio answered ${status}`));
      assert.ok(!containsCode(error.message, '654321'));
    });
  }

  test('wrong credentials are a 401 that is not retried', async () => {
    const wrong = new TwilioSmsProvider({ accountSid: fake.accountSid, authToken: 'wrong', from: fake.from, apiBase: fake.url });
    await assert.rejects(
      wrong.send('+919876543210', 'hello'),
      (e: unknown) => e instanceof SmsError && e.status === 401 && !e.retryable,
    );
  });

  test('an unreachable server is a retryable network error', async () => {
    const port = await freePort();
    const offline = new TwilioSmsProvider({ accountSid: 'AC1', authToken: 't', from: '+1', apiBase: `http://127.0.0.1:${port}` });
    await assert.rejects(offline.send('+919876543210', 'hello'), (e: unknown) => {
      assert.ok(e instanceof SmsError);
      assert.equal(e.retryable, true);
      assert.match(e.message, /^Twilio unreachable: ECONNREFUSED/);
      return true;
    });
  });

  test('the factory picks Twilio from the configuration', () => {
    const config = loadConfig({ ...fake.env });
    assert.equal(createSmsProvider(config, capturingLogger().logger).name, 'twilio');
    assert.equal(createSmsProvider(loadConfig({}), capturingLogger().logger).name, 'console');
  });
});

/** sms_sends_total by outcome. */
async function smsSends(metrics: AuthMetrics): Promise<Record<string, number>> {
  const { values } = await metrics.smsSends.get();
  return Object.fromEntries(values.map(({ labels, value }) => [String(labels.outcome), value]));
}

describe('SMS sender: background delivery with retries', () => {
  let fake: FakeTwilio;
  before(async () => {
    fake = await startFakeTwilio();
  });
  after(() => fake.close());
  beforeEach(() => {
    fake.behave({ delayMs: 0, failures: 0, failureStatus: 500 });
    fake.requests.length = 0;
  });

  function sender(maxAttempts = 3) {
    const capture = capturingLogger();
    const provider = new TwilioSmsProvider({
      accountSid: fake.accountSid,
      authToken: fake.authToken,
      from: fake.from,
      apiBase: fake.url,
    });
    const background = new BackgroundTasks(capture.logger);
    const metrics = new AuthMetrics(new Metrics());
    return {
      capture,
      background,
      metrics,
      sms: new SmsSender(provider, background, capture.logger, { maxAttempts, baseDelayMs: 5, maxDelayMs: 20 }, metrics),
    };
  }

  test('two failures, then delivered on the third attempt: one send counted, as sent', async () => {
    const { sms, background, capture, metrics } = sender();
    fake.behave({ failures: 2 });
    sms.send('+919876543210', 'Your Cheershare code is 246810');
    await background.drain();
    assert.deepEqual(
      fake.requests.map((r) => r.status),
      [500, 500, 201],
    );
    const attempts = capture.lines.filter((line) => line.msg === 'SMS attempt failed').map((line) => line.attempt);
    assert.deepEqual(attempts, [1, 2]);
    assert.ok(capture.lines.some((line) => line.msg === 'SMS sent' && line.attempt === 3));
    assert.ok(!containsCode(capture.text(), '246810'), capture.text());
    assert.deepEqual(await smsSends(metrics), { sent: 1, logged: 0, failed: 0 });
  });

  test('every attempt failing: exactly SMS_MAX_ATTEMPTS requests, one error logged and counted, never the code', async () => {
    const { sms, background, capture, metrics } = sender(4);
    fake.behave({ failures: Infinity });
    sms.send('+919876543210', 'Your Cheershare code is 135790');
    await background.drain();
    assert.equal(fake.requests.length, 4);
    const failed = capture.lines.filter((line) => line.msg === 'SMS delivery failed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.to, '+91******3210');
    assert.match(String(failed[0]!.reason), /^Twilio answered 500/);
    assert.ok(!containsCode(capture.text(), '135790'), capture.text());
    assert.deepEqual(await smsSends(metrics), { sent: 0, logged: 0, failed: 1 });
  });

  test('a number Twilio refuses (400) is not retried', async () => {
    const { sms, background, capture } = sender();
    fake.behave({ failures: 1, failureStatus: 400 });
    sms.send('+919876543210', 'Your Cheershare code is 112233');
    await background.drain();
    assert.equal(fake.requests.length, 1);
    assert.ok(capture.lines.some((line) => line.msg === 'SMS delivery failed'));
  });

  test('send() returns before the provider answers; the task is tracked until it does', async () => {
    const { sms, background } = sender();
    fake.pause();
    try {
      sms.send('+919876543210', 'Your Cheershare code is 999000');
      assert.deepEqual(background.pending(), ['sms']);
      await fake.waitForRequests(1);
      assert.equal(fake.messages().length, 0);
    } finally {
      fake.resume();
    }
    await background.drain();
    assert.equal(fake.messages().length, 1);
  });
});

test('console provider logs the message and says it is a development provider', async () => {
  const capture = capturingLogger();
  await new ConsoleSmsProvider(capture.logger).send('+919876543210', 'Your Cheershare code is 424242');
  const [line] = capture.lines;
  assert.deepEqual(line!.sms, { to: '+919876543210', message: 'Your Cheershare code is 424242' });
  assert.match(String(line!.msg), /development provider/);
});

test('through the sender, a console code gets one log line, saying logged, not sent, and counts as logged', async () => {
  const capture = capturingLogger();
  const background = new BackgroundTasks(capture.logger);
  const metrics = new AuthMetrics(new Metrics());
  const settings = { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 };
  const sms = new SmsSender(new ConsoleSmsProvider(capture.logger), background, capture.logger, settings, metrics);
  sms.send('+919876543210', 'Your Cheershare code is 424242');
  await background.drain();
  const about = capture.lines.filter((line) => /SMS/.test(String(line.msg)));
  assert.deepEqual(
    about.map((line) => line.msg),
    ['SMS logged, not sent: SMS_PROVIDER=console is a development provider that only logs it'],
  );
  assert.deepEqual(await smsSends(metrics), { sent: 0, logged: 1, failed: 0 });
});
