import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { TEST_REDIS_URL, tempDir } from '../support/backends.ts';
import { startFakeTwilio } from '../support/fake-twilio.ts';
import { containsCode } from '../support/log-capture.ts';
import { startServerProcess, type LogLine } from '../support/server-process.ts';

const dirs: string[] = [];
function dir(): string {
  const path = tempDir();
  dirs.push(path);
  return path;
}
after(() => {
  for (const path of dirs) rmSync(path, { recursive: true, force: true });
});

/** Every string value in a log line, nested ones included. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

test('SMS_PROVIDER=twilio, the fake failing slowly: SIGTERM waits for the retries, then exits 0', async () => {
  const fake = await startFakeTwilio({ delayMs: 400, failures: Infinity, failureStatus: 503 });
  try {
    const server = await startServerProcess({ DATA_DIR: dir(), UPLOAD_DIR: dir(), SMS_MAX_ATTEMPTS: '3', ...fake.env });
    const response = await fetch(`${server.url}/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Asha', phone_number: '9876543210' }),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { success: true, message: 'OTP sent successfully' });
    await fake.waitForRequests(1);
    const requestsAtSignal = fake.requests.length;

    assert.equal(await server.stop('SIGTERM'), 0, server.stderr());

    assert.equal(requestsAtSignal, 1);
    assert.deepEqual(
      fake.requests.map((r) => r.status),
      [503, 503, 503],
      'every retry ran before the process exited',
    );
    const order = (predicate: (line: LogLine) => boolean) => server.logs.findIndex(predicate);
    const draining = order((line) => line.msg === 'completing background tasks');
    const failed = order((line) => line.msg === 'SMS delivery failed');
    const stopped = order((line) => line.msg === 'server stopped');
    assert.ok(draining >= 0 && failed > draining && stopped > failed, JSON.stringify(server.logs.map((l) => l.msg)));
    assert.equal(server.logs[draining]!.tasks, 1);
    assert.equal(server.logs.filter((line) => line.msg === 'SMS attempt failed').length, 3);

    const code = /[0-9]{6}/.exec(fake.requests[0]!.body ?? '')![0];
    const leaks = server.logs.filter((line) => strings(line).some((text) => containsCode(text, code)));
    assert.deepEqual(leaks, [], 'the code never appears in the logs');
    assert.ok(!containsCode(server.stderr(), code));
  } finally {
    await fake.close();
  }
});

test('the console provider logs the message with the code (development only)', async () => {
  const server = await startServerProcess({ DATA_DIR: dir(), UPLOAD_DIR: dir() });
  try {
    const response = await fetch(`${server.url}/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Asha', phone_number: '+919876543210' }),
    });
    assert.equal(response.status, 200);
    const line = await server.waitForLog((l) => typeof l.sms === 'object');
    assert.match(line.msg, /development provider/);
    const sms = line.sms as { to: string; message: string };
    assert.equal(sms.to, '+919876543210');
    assert.match(sms.message, /^Your Cheershare code is [0-9]{6}$/);
  } finally {
    assert.equal(await server.stop('SIGTERM'), 0);
  }
});

test(
  'with REDIS_URL the server reports Redis in /readyz and closes it on SIGTERM',
  { skip: !TEST_REDIS_URL && 'TEST_REDIS_URL not set' },
  async () => {
    const server = await startServerProcess({ DATA_DIR: dir(), UPLOAD_DIR: dir(), REDIS_URL: TEST_REDIS_URL! });
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ok', database: 'ok', redis: 'ok' });
    assert.equal(await server.stop('SIGTERM'), 0, server.stderr());
    assert.ok(server.logs.some((line) => line.msg === 'server stopped'));
  },
);
