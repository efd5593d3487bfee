import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from './support/backends.ts';
import { migratedDataDir } from './support/embedded.ts';
import { encodePng, png } from './support/images.ts';
import { uploadForm } from './support/multipart.ts';
import { RawConnection } from './support/raw-http.ts';
import { killStrayProcesses, startServerProcess, type ServerProcess } from './support/server-process.ts';
import { uniquePhone } from './support/signup.ts';

// The review's findings 1–4, each against a real server process (finding 5 is in the config
// test's process cases, finding 6 in bench/verify-timing.ts).
const UPLOADER = '+919999900001';
const GUESSED = '+919999900002';
const TRICKLER = '+919999900003';
const CODE = '424242';
const tomorrow = () => new Date(Date.now() + 24 * 3_600_000).toISOString().slice(0, 10);
/** A PNG cut off in its image data: it passes the type check, then fails to decode. */
const UNDECODABLE = encodePng(100, 100, randomBytes(100 * 301)).subarray(0, 3_000);

describe('the second abuse review, against a running server', () => {
  const dirs = [tempDir()];
  let server: ServerProcess;
  let ip = 0;
  // The client's address as the trusted proxy (loopback) passes it on.
  const from = (address = `203.0.113.${++ip}`) => ({ 'x-forwarded-for': address });

  before(async () => {
    const dataDir = await migratedDataDir();
    dirs.push(dataDir);
    server = await startServerProcess({
      DATA_DIR: dataDir,
      UPLOAD_DIR: dirs[0]!,
      TRUST_PROXY: 'loopback',
      OTP_TEST_NUMBERS: `${UPLOADER}=${CODE},${GUESSED}=${CODE},${TRICKLER}=${CODE}`,
      UPLOADS_PER_USER_PER_HOUR: '2',
      UPLOAD_MAX_SECONDS: '3',
      VERIFY_PER_IP_PER_HOUR: '2',
      OTP_MAX_ATTEMPTS: '5',
      SMS_PER_HOUR: '4',
    });
  });
  after(async () => {
    await server?.stop();
    killStrayProcesses();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const signup = (body: object, headers: Record<string, string> = from()) =>
    fetch(`${server.url}/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const signIn = async (phone: string, code: string) => {
    assert.equal((await signup({ name: 'Asha', phone_number: phone })).status, 200);
    const response = await signup({ phone_number: phone, otp: code });
    assert.equal(response.status, 200);
    return ((await response.json()) as { token: string }).token;
  };
  const upload = (token: string, file: Buffer) => {
    const form = uploadForm(file, tomorrow());
    return fetch(`${server.url}/upload-creative`, {
      method: 'POST',
      headers: { ...form.headers, authorization: `Bearer ${token}` },
      body: form.body,
    });
  };

  test('1. uploads refused after decoding count: with UPLOADS_PER_USER_PER_HOUR=2, the third → 429 with Retry-After', async () => {
    const token = await signIn(UPLOADER, CODE);
    assert.equal((await upload(token, UNDECODABLE)).status, 415);
    assert.equal((await upload(token, UNDECODABLE)).status, 415);
    const limited = await upload(token, UNDECODABLE);
    assert.equal(limited.status, 429);
    assert.equal(((await limited.json()) as { code: string }).code, 'rate_limited');
    assert.match(limited.headers.get('retry-after') ?? '', /^(359\d|3600)$/);
  });

  test('2. an upload kept alive by a trickle of bytes ends with 408 after UPLOAD_MAX_SECONDS', async () => {
    const token = await signIn(TRICKLER, CODE);
    const form = uploadForm(png(50_000), tomorrow());
    const connection = await RawConnection.open(server.port);
    connection.socket.write(
      `POST /upload-creative HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: ${form.headers['content-type']}\r\nContent-Length: ${form.body.length}\r\n\r\n`,
    );
    const answered = connection.response();
    for (let offset = 0; connection.text === '' && !connection.socket.destroyed && offset < 40_000; offset += 50) {
      connection.socket.write(form.body.subarray(offset, offset + 50));
      await sleep(100);
    }
    const response = await answered;
    assert.equal(response.status, 408);
    assert.equal((JSON.parse(response.body) as { code: string }).code, 'request_timeout');
    connection.close();
  });

  test('3. a test number cannot be brute-forced across re-requests; ten /64s of one /48 meet its verify limit', async () => {
    // Five wrong codes, a new request before each: the number is locked, the right code refused.
    for (let i = 0; i < 5; i++) {
      assert.equal((await signup({ name: 'Asha', phone_number: GUESSED })).status, 200);
      assert.equal((await signup({ phone_number: GUESSED, otp: '000000' })).status, 401);
    }
    assert.equal((await signup({ name: 'Asha', phone_number: GUESSED })).status, 200);
    const locked = await signup({ phone_number: GUESSED, otp: CODE });
    assert.equal(locked.status, 429);
    assert.equal(locked.headers.get('retry-after'), '3600');

    const statuses: number[] = [];
    for (let subnet = 1; subnet <= 10; subnet++) {
      const response = await signup({ phone_number: uniquePhone(), otp: '000000' }, from(`2001:db8:77:${subnet}::1`));
      statuses.push(response.status);
    }
    // VERIFY_PER_IP_PER_HOUR=2 per /64, 8 per /48: one failure in each of eight /64s, then 429.
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 401, 401, 401, 429, 429]);
  });

  test('4. pumping new numbers no longer locks out people who have signed in before', async () => {
    const returning = uniquePhone();
    assert.equal((await signup({ name: 'Asha', phone_number: returning })).status, 200);
    const line = await server.waitForLog((entry) => (entry.sms as { to?: string } | undefined)?.to === returning);
    const code = /\d{6}/.exec((line.sms as { message: string }).message)![0];
    assert.equal((await signup({ phone_number: returning, otp: code })).status, 200);
    // SMS_PER_HOUR=4: two for new numbers (one was the returning person's first), two kept for known ones.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await signup({ name: 'Pump', phone_number: uniquePhone() })).status);
    assert.deepEqual(statuses, [200, 503, 503, 503, 503]);
    const known = await signup({ name: 'Asha', phone_number: returning });
    assert.equal(known.status, 200);
  });
});
