import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { png } from '../support/images.ts';
import { uploadForm } from '../support/multipart.ts';
import { eventually } from '../support/wait.ts';
import { RawConnection } from '../support/raw-http.ts';
import { embeddedServerWithUser } from '../support/faults.ts';
import { killStrayProcesses, type ServerProcess } from '../support/server-process.ts';
import type { SignedInUser } from '../support/users.ts';

const dirs: string[] = [];
after(() => {
  killStrayProcesses();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const TIMEOUT_SECONDS = 2;
const today = () => new Date().toISOString().slice(0, 10);

function embeddedServer(env: Record<string, string> = {}) {
  return embeddedServerWithUser(
    { REQUEST_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS), UPLOAD_IDLE_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS), ...env },
    dirs,
  );
}

/** Headers and the first `sent` bytes of an upload of `form`; the rest is the caller's to send (or not). */
async function startUpload(
  server: ServerProcess,
  form: { body: Buffer; headers: Record<string, string> },
  auth: Record<string, string>,
  sent: number,
) {
  const connection = await RawConnection.open(server.port);
  const headers = { ...form.headers, ...auth, 'content-length': String(form.body.length) };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  await connection.send(`POST /upload-creative HTTP/1.1\r\nHost: 127.0.0.1\r\n${head}\r\n`);
  connection.socket.write(form.body.subarray(0, sent));
  return connection;
}

/** Uploads in progress are written to `.upload-….part` files (see local-disk.ts). */
function temporaryFiles(directory: string): string[] {
  return readdirSync(directory).filter((name) => name.endsWith('.part'));
}

async function secondsUntilClosed(connection: RawConnection, since: number): Promise<number> {
  await connection.closed;
  return (performance.now() - since) / 1000;
}

// One server for the file: the stalls run side by side, then its shutdown has stalls to outlast.
let server: ServerProcess;
let user: SignedInUser;
let uploadDir: string;
before(async () => {
  ({ server, user, uploadDir } = await embeddedServer({ SHUTDOWN_TIMEOUT_SECONDS: '30' }));
});

describe('slow and stalled clients', { concurrency: true, timeout: 60_000 }, () => {
  test('headers that never finish: 408 and closed after 10 s', async () => {
    const connection = await RawConnection.open(server.port);
    const started = performance.now();
    await connection.send('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const seconds = await secondsUntilClosed(connection, started);
    assert.ok(seconds >= 9.5 && seconds < 14, `closed after ${seconds} s`);
    assert.match(connection.text, /^HTTP\/1\.1 408 /);
  });

  test('a JSON body that stops half-way: 408 request_timeout, Connection: close, after REQUEST_TIMEOUT_SECONDS', async () => {
    const connection = await RawConnection.open(server.port);
    const started = performance.now();
    await connection.send(
      'POST /signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na',
    );
    const response = await connection.response();
    const seconds = (performance.now() - started) / 1000;
    assert.equal(response.status, 408);
    assert.equal(JSON.parse(response.body).code, 'request_timeout');
    assert.equal(response.headers.connection, 'close');
    assert.ok(seconds >= TIMEOUT_SECONDS - 0.2 && seconds < TIMEOUT_SECONDS + 3, `answered after ${seconds} s`);
    assert.ok((await secondsUntilClosed(connection, started)) < TIMEOUT_SECONDS + 3);
  });

  test('a JSON body that trickles in steadily still has REQUEST_TIMEOUT_SECONDS in all', async () => {
    const connection = await RawConnection.open(server.port);
    const started = performance.now();
    await connection.send(
      'POST /signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n',
    );
    const trickle = (async () => {
      for (let i = 0; i < 100 && !connection.socket.destroyed; i++) {
        await sleep(100);
        connection.socket.write(' ');
      }
    })();
    const response = await connection.response();
    assert.equal(response.status, 408);
    const seconds = (performance.now() - started) / 1000;
    assert.ok(seconds < TIMEOUT_SECONDS + 3, `answered after ${seconds} s`);
    await connection.closed;
    await trickle;
  });

  test('an upload that stalls is abandoned after UPLOAD_IDLE_TIMEOUT_SECONDS: connection closed, no file left', async () => {
    const form = uploadForm(png(512 * 1024), today());
    const started = performance.now();
    const connection = await startUpload(server, form, user.headers, 256 * 1024);
    const seconds = await secondsUntilClosed(connection, started);
    assert.ok(seconds >= TIMEOUT_SECONDS - 0.2 && seconds < TIMEOUT_SECONDS + 3, `closed after ${seconds} s`);
    // Removed once the handler has seen its body fail, a moment after the close.
    await eventually(async () => assert.deepEqual(temporaryFiles(uploadDir), [], 'temporary file removed'), 5_000);
  });

  test('an upload slower than REQUEST_TIMEOUT_SECONDS in all, but never idle that long, is stored', async () => {
    const form = uploadForm(png(256 * 1024), today());
    const piece = Math.ceil(form.body.length / 5);
    const connection = await startUpload(server, form, user.headers, piece);
    for (let offset = piece; offset < form.body.length; offset += piece) {
      await sleep(TIMEOUT_SECONDS * 400);
      connection.socket.write(form.body.subarray(offset, offset + piece));
    }
    const response = await connection.response();
    assert.equal(response.status, 201, response.body);
    connection.close();
  });

  test('an upload without a valid token: 401 at once with Connection: close, its body not read', async (t) => {
    for (const auth of [{}, { authorization: `Bearer ${'A'.repeat(26)}` }] as Record<string, string>[]) {
      const total = 25 * 1024 * 1024;
      const form = { body: Buffer.alloc(total, 1), headers: { 'content-type': 'multipart/form-data; boundary=x' } };
      const started = performance.now();
      const connection = await startUpload(server, form, auth, 0);
      // Keep offering the body, as a client that ignores the answer would.
      let accepted = 0;
      const chunk = Buffer.alloc(64 * 1024, 1);
      const pushing = (async () => {
        while (!connection.socket.destroyed && accepted < total) {
          accepted += chunk.length;
          if (!connection.socket.write(chunk))
            await Promise.race([new Promise((r) => connection.socket.once('drain', r)), connection.closed]);
        }
      })();
      const response = await connection.response();
      assert.equal(response.status, 401);
      assert.equal(response.headers.connection, 'close');
      assert.equal(response.headers['www-authenticate'], 'Bearer');
      assert.ok((performance.now() - started) / 1000 < 1, 'at once');
      assert.ok((await secondsUntilClosed(connection, started)) < 3, 'closed by the server');
      await pushing;
      // What a closed socket swallows is the two kernels' buffers, not 25 MiB.
      assert.ok(accepted < total / 2, `${accepted} bytes accepted before the close`);
      t.diagnostic(
        `${auth.authorization ? 'unknown token' : 'no token'}: ${accepted} of ${total} bytes accepted by the socket before the close`,
      );
    }
  });
});

test('stalled clients cannot hold a graceful shutdown longer than their own timeouts', { timeout: 60_000 }, async (t) => {
  const stalledUpload = await startUpload(server, uploadForm(png(512 * 1024), today()), user.headers, 128 * 1024);
  const stalledBody = await RawConnection.open(server.port);
  await stalledBody.send(
    'POST /signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
  );
  const stalledHeaders = await RawConnection.open(server.port);
  await stalledHeaders.send('GET /me HTTP/1.1\r\n');
  await sleep(300);

  const signalled = performance.now();
  server.proc.kill('SIGTERM');
  assert.equal(await server.exited, 0, JSON.stringify(server.logs.slice(-8)));
  const seconds = (performance.now() - signalled) / 1000;
  // The longest of the three is the 10 s header timeout; the budget was 30 s.
  assert.ok(seconds < 14, `exited after ${seconds} s`);
  t.diagnostic(`exit 0 ${seconds.toFixed(1)} s after SIGTERM`);
  await Promise.all([stalledUpload.closed, stalledBody.closed, stalledHeaders.closed]);
  assert.deepEqual(temporaryFiles(uploadDir), [], 'no temporary file left');
});
