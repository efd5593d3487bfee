import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { todayIn } from '../../src/platform/calendar.ts';
import { tempDir } from '../support/backends.ts';
import { png } from '../support/images.ts';
import { uploadForm } from '../support/multipart.ts';
import { killStrayProcesses, startServerProcess, type LogLine, type ServerProcess } from '../support/server-process.ts';

// Test numbers: their codes are fixed and nothing is sent, so no code is ever printed for the test to read.
const RETURNING = '+919999900001';
const LOCKED = '+919999900002';
const CODE = '482917';
const WRONG_CODE = '000000';
const NAME = 'Asha Auditable';
const FILE_SECRET = 'file-content-that-must-never-be-logged';
const MAX_ATTEMPTS = 3;

const dirs = [tempDir(), tempDir()];
let server: ServerProcess;
before(async () => {
  server = await startServerProcess({
    DATA_DIR: dirs[0]!,
    UPLOAD_DIR: dirs[1]!,
    OTP_TEST_NUMBERS: `${RETURNING}=${CODE},${LOCKED}=${CODE}`,
    OTP_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
  });
});
after(async () => {
  if (server) assert.equal(await server.stop('SIGTERM'), 0, server.stderr());
  killStrayProcesses();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function signup(body: object): Promise<Response> {
  return fetch(`${server.url}/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function signIn(phone: string): Promise<{ token: string; userId: number }> {
  assert.equal((await signup({ name: NAME, phone_number: phone })).status, 200);
  const response = await signup({ phone_number: phone, otp: CODE });
  assert.equal(response.status, 200);
  const body = (await response.json()) as { token: string; data: { id: number } };
  return { token: body.token, userId: body.data.id };
}

function authorized(token: string, init: RequestInit = {}): RequestInit {
  return { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } };
}

async function upload(token: string, file: Buffer): Promise<Response> {
  const form = uploadForm(file, todayIn('UTC'));
  return fetch(`${server.url}/upload-creative`, authorized(token, { method: 'POST', headers: form.headers, body: form.body }));
}

/** The audit lines so far (those with an `event` field), without pino's own fields. */
function auditLines(): Record<string, unknown>[] {
  return server.logs
    .filter((line) => typeof line.event === 'string')
    .map(({ level, msg, time, pid, hostname, reqId, ...fields }: LogLine) => {
      assert.equal(level, 30, `audit lines are at info: ${msg}`);
      assert.equal(msg, `audit: ${String(fields.event)}`);
      assert.ok(typeof time === 'number' && typeof pid === 'number' && typeof hostname === 'string');
      assert.match(String(reqId), /^[0-9a-f-]{36}$/, 'each line carries its request id');
      return fields;
    });
}

async function waitForEvents(count: number): Promise<Record<string, unknown>[]> {
  await server.waitForLog(() => auditLines().length >= count);
  return auditLines();
}

test('each domain event is one info line with its event name, user id and object id, and nothing personal', async () => {
  const first = await signIn(RETURNING);
  const again = await signIn(RETURNING);
  assert.equal(again.userId, first.userId);

  const stored = await upload(again.token, png());
  assert.equal(stored.status, 201);
  const { creative } = (await stored.json()) as { creative: { id: number; size_bytes: number } };
  const refused = await upload(again.token, Buffer.from(FILE_SECRET));
  assert.equal(refused.status, 415);
  const deleted = await fetch(`${server.url}/creatives/${creative.id}`, authorized(again.token, { method: 'DELETE' }));
  assert.equal(deleted.status, 204);

  assert.equal((await fetch(`${server.url}/logout`, authorized(first.token, { method: 'POST' }))).status, 204);
  assert.equal((await fetch(`${server.url}/logout?all=true`, authorized(again.token, { method: 'POST' }))).status, 204);

  assert.equal((await signup({ name: NAME, phone_number: LOCKED })).status, 200);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    assert.equal((await signup({ phone_number: LOCKED, otp: WRONG_CODE })).status, 401);
  }
  // Test numbers are then locked for the hour: even the right code is refused.
  assert.equal((await signup({ phone_number: LOCKED, otp: CODE })).status, 429, 'the right code fails once locked');

  const user = first.userId;
  const lines = await waitForEvents(8);
  assert.deepEqual(lines, [
    { event: 'signed_in', user_id: user, new: true },
    { event: 'signed_in', user_id: user, new: false },
    {
      event: 'creative_stored',
      user_id: user,
      creative_id: creative.id,
      bytes: creative.size_bytes,
      content_type: 'image/png',
      via: 'multipart',
    },
    { event: 'upload_refused', user_id: user, error_code: 'unsupported_media_type', status: 415, via: 'multipart' },
    { event: 'creative_deleted', user_id: user, creative_id: creative.id },
    { event: 'logged_out', user_id: user, all: false, revoked: 1 },
    { event: 'logged_out', user_id: user, all: true, revoked: 1 },
    { event: 'otp_locked', phone_number: '+91******0002', attempts: MAX_ATTEMPTS },
  ]);

  const everything = JSON.stringify(server.logs) + server.stderr();
  for (const secret of [RETURNING, LOCKED, RETURNING.slice(3), LOCKED.slice(3), first.token, again.token, FILE_SECRET]) {
    assert.ok(!everything.includes(secret), `the log holds ${secret}`);
  }
  const audit = JSON.stringify(lines);
  for (const secret of [CODE, WRONG_CODE, NAME]) assert.ok(!audit.includes(secret), `an audit line holds ${secret}`);
});
