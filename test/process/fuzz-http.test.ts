import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { AUTH_ERROR_CODES } from '../../src/auth/errors.ts';
import { CREATIVES_ERROR_CODES } from '../../src/creatives/errors.ts';
import { ErrorCodeRegistry } from '../../src/platform/http/errors.ts';
import { png } from '../support/images.ts';
import { uploadForm } from '../support/multipart.ts';
import { processBackends, signUpThroughApi, startHostileTarget } from '../support/process-backends.ts';
import { RawConnection, type RawResponse } from '../support/raw-http.ts';
import { killStrayProcesses, type ServerProcess } from '../support/server-process.ts';
import { uniquePhone } from '../support/signup.ts';

// Issue 19: generated HTTP requests (method, path, headers, body shape, chunking, timing) against
// a real process for a bounded time: FUZZ_SECONDS per backend (default 25, so CI stays under 60 s
// with both backends; smaller locally). Every answer is a documented status, every error has the
// JSON error body with a known code, and the process lives.
const FUZZ_SECONDS = Number(process.env.FUZZ_SECONDS ?? 25);
const TIMEOUT_SECONDS = 2;
// How long an answer may take beyond the body timeout on a loaded machine (not a speed check).
const ANSWER_WITHIN_MS = (TIMEOUT_SECONDS + 15) * 1000;
const DOCUMENTED = new Set([200, 201, 204, 206, 301, 304, 400, 401, 404, 408, 413, 415, 416, 429, 431]);
const DOCUMENTED_CODES = new ErrorCodeRegistry().register(AUTH_ERROR_CODES).register(CREATIVES_ERROR_CODES).names();
const today = () => new Date().toISOString().slice(0, 10);

after(killStrayProcesses);

const PATHS = [
  '/healthz',
  '/readyz',
  '/meta',
  '/signup',
  '/me',
  '/logout',
  '/upload-creative',
  '/scheduled',
  '/feed',
  '/creatives',
  '/creatives/1',
  '/uploads/00000000-0000-0000-0000-000000000000.png',
  '/docs/json',
  '/',
  '/nope',
];

interface GeneratedRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  auth: 'none' | 'valid' | 'garbage';
  length: 'exact' | 'more' | 'less' | 'none' | 'invalid' | 'chunked';
  body: Buffer;
  pieces: number;
  pauseMs: number;
  end: 'complete' | 'stall' | 'reset';
}

const text = (maxLength: number) => fc.string({ maxLength, unit: 'binary' });
const query = fc.oneof(
  fc.constant(''),
  fc.constant(`?date=${today()}`),
  text(40).map((value) => `?cursor=${Buffer.from(value).toString('base64url')}&date=${today()}`),
  fc
    .tuple(fc.constantFrom('date', 'from', 'to', 'limit', 'tz', 'cursor', 'all', 'x'), text(20))
    .map(([name, value]) => `?${name}=${encodeURIComponent(value)}`),
  text(20).map((raw) => `?${raw}`),
);
const body = fc.oneof(
  fc.constant(Buffer.alloc(0)),
  fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value))),
  fc
    .record({ name: text(30), phone_number: text(20), otp: fc.option(text(8)) })
    .map((value) => Buffer.from(JSON.stringify(value))),
  fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)),
  fc.constant(uploadForm(png(2048), today()).body),
  fc.constant(Buffer.from(`{"name":"${'a'.repeat(150 * 1024)}"}`)),
);
const generatedRequest: fc.Arbitrary<GeneratedRequest> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'BREW'),
  path: fc
    .tuple(fc.constantFrom(...PATHS), fc.oneof(fc.constant(''), text(12)), query)
    .map(([path, extra, q]) => `${path}${extra}${q}`),
  contentType: fc.constantFrom(
    undefined,
    'application/json',
    'multipart/form-data; boundary=x',
    'text/plain',
    'application/json; charset=latin1',
    ';;',
  ),
  auth: fc.constantFrom('none', 'valid', 'garbage'),
  length: fc.constantFrom('exact', 'exact', 'exact', 'more', 'less', 'none', 'invalid', 'chunked'),
  body,
  pieces: fc.integer({ min: 1, max: 4 }),
  pauseMs: fc.integer({ min: 0, max: 200 }),
  end: fc.constantFrom('complete', 'complete', 'complete', 'complete', 'complete', 'complete', 'stall', 'reset'),
});

function headOf(request: GeneratedRequest, authorization: string): string {
  const headers: string[] = ['Host: fuzz'];
  if (request.contentType !== undefined) headers.push(`Content-Type: ${request.contentType}`);
  if (request.auth === 'valid') headers.push(`Authorization: ${authorization}`);
  if (request.auth === 'garbage') headers.push('Authorization: Bearer not-a-token');
  const size = request.body.length;
  const length = {
    exact: `${size}`,
    more: `${size + 100}`,
    less: `${Math.floor(size / 2)}`,
    invalid: '12abc',
    none: '',
    chunked: '',
  }[request.length];
  if (length) headers.push(`Content-Length: ${length}`);
  if (request.length === 'chunked') headers.push('Transfer-Encoding: chunked');
  return `${request.method} ${request.path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`;
}

function framed(request: GeneratedRequest): Buffer {
  if (request.length !== 'chunked') return request.body;
  const size = request.body.length;
  return Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), request.body, Buffer.from(size > 0 ? '\r\n0\r\n\r\n' : '\r\n')]);
}

/** Sends the request as generated; resolves with the first answer, or undefined if none came. */
async function send(server: ServerProcess, request: GeneratedRequest, authorization: string): Promise<RawResponse | undefined> {
  const connection = await RawConnection.open(server.port);
  try {
    const bytes = Buffer.concat([Buffer.from(headOf(request, authorization), 'latin1'), framed(request)]);
    const cut = request.end === 'complete' ? bytes.length : Math.floor(bytes.length * 0.6);
    const step = Math.ceil(cut / request.pieces);
    for (let offset = 0; offset < cut && !connection.socket.destroyed; offset += step) {
      connection.socket.write(bytes.subarray(offset, Math.min(cut, offset + step)));
      await sleep(request.pauseMs);
    }
    if (request.end === 'reset') {
      connection.socket.resetAndDestroy();
      return undefined;
    }
    const deadline = sleep(ANSWER_WITHIN_MS).then(() => undefined);
    return await Promise.race([connection.response().catch(() => undefined), deadline]);
  } finally {
    connection.close();
  }
}

function assertDocumented(request: GeneratedRequest, response: RawResponse): void {
  const what = `${request.method} ${JSON.stringify(request.path)} → ${response.status} ${response.body.slice(0, 200)}`;
  assert.ok(DOCUMENTED.has(response.status), what);
  if (response.status < 400 || request.method === 'HEAD') return;
  const error = JSON.parse(response.body) as { error?: unknown; code?: unknown };
  assert.equal(typeof error.error, 'string', what);
  assert.ok(DOCUMENTED_CODES.includes(String(error.code)), what);
}

for (const backend of processBackends) {
  describe(`generated HTTP requests against a real process (${backend.name})`, { timeout: (FUZZ_SECONDS + 120) * 1000 }, () => {
    let server: ServerProcess;
    let stop: (() => Promise<void>) | undefined;
    let authorization: string;
    before(async () => {
      ({ server, stop } = await startHostileTarget(backend, TIMEOUT_SECONDS));
      ({ authorization } = await signUpThroughApi(server, uniquePhone()));
    });
    after(async () => {
      await stop?.();
    });

    test(`for ${FUZZ_SECONDS} s: every answer a documented status, every error the JSON error body; the process lives`, async (t) => {
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(generatedRequest, async (request) => {
          runs++;
          const response = await send(server, request, authorization);
          if (response) assertDocumented(request, response);
          assert.equal(server.proc.exitCode, null, 'the process lives');
        }),
        { numRuns: 1_000_000, interruptAfterTimeLimit: FUZZ_SECONDS * 1000, markInterruptAsFailure: false },
      );
      t.diagnostic(`${runs} generated requests`);
      assert.ok(runs > 0);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      const logText = `${server.logs.map((line) => JSON.stringify(line)).join('\n')}\n${server.stderr()}`;
      assert.doesNotMatch(logText, /uncaught|unhandled|\\n\s+at /i, 'no escaped error, no stack trace');
    });
  });
}
