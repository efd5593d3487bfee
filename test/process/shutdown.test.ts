import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openPglite } from '../../src/platform/db/pglite.ts';
import { tempDir } from '../support/backends.ts';
import { migratedDataDir } from '../support/embedded.ts';
import { png } from '../support/images.ts';
import { uploadForm } from '../support/multipart.ts';
import { RawConnection } from '../support/raw-http.ts';
import { killStrayProcesses, startServerProcess, type ServerProcess } from '../support/server-process.ts';
import { createSignedInUser } from '../support/users.ts';

const dirs: string[] = [];
/** A migrated embedded database and an upload directory of its own. */
async function embeddedEnv(): Promise<Record<string, string>> {
  const dataDir = await migratedDataDir();
  const uploadDir = tempDir();
  dirs.push(dirname(dataDir), uploadDir);
  return { DATA_DIR: dataDir, UPLOAD_DIR: uploadDir };
}
after(() => {
  killStrayProcesses();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const SWAGGER_BUNDLE = new URL('../../node_modules/@fastify/swagger-ui/static/swagger-ui-bundle.js', import.meta.url);
const SIGNUP_BODY = JSON.stringify({ name: 'Asha', phone_number: '+919876543210' });

/**
 * A deliberately slow request: POST /signup whose headers and first bytes arrive now and whose
 * body the test completes (or never completes) later. It asks for `100 Continue`, which the server
 * sends once it has taken the request on: from then on the request is in flight.
 */
async function startSlowSignup(server: ServerProcess): Promise<{ connection: RawConnection; rest: string }> {
  const connection = await RawConnection.open(server.port);
  await connection.send(
    `POST /signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${SIGNUP_BODY.length}\r\nExpect: 100-continue\r\n\r\n`,
  );
  assert.equal((await connection.response()).status, 100);
  await connection.send(SIGNUP_BODY.slice(0, 10));
  return { connection, rest: SIGNUP_BODY.slice(10) };
}

function messages(server: ServerProcess): string[] {
  return server.logs.map((line) => line.msg);
}

// Each test starts its own server process (about a second of CPU each): run them side by side.
describe('graceful shutdown of the real process', { concurrency: 2, timeout: 240_000 }, () => {
  test('SIGTERM: the request in flight completes with 200, new connections are refused, busy ones get 503, exit 0', async () => {
    const server = await startServerProcess({ ...(await embeddedEnv()), SHUTDOWN_TIMEOUT_SECONDS: '20', LOG_LEVEL: 'debug' });

    // An idle keep-alive connection: one request answered, the connection kept open.
    const idle = await RawConnection.open(server.port);
    await idle.send('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const first = await idle.response();
    assert.equal(first.status, 200);
    assert.equal(first.headers.connection, 'keep-alive');

    // A busy connection: the request line of GET /readyz sent, its headers not finished.
    const busy = await RawConnection.open(server.port);
    await busy.send('GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n');

    const slow = await startSlowSignup(server);

    server.proc.kill('SIGTERM');
    const started = await server.waitForLog((line) => line.msg === 'shutdown started');
    assert.equal(started.signal, 'SIGTERM');

    // Idle keep-alive connections are closed at once, with the listening socket.
    await idle.closed;
    assert.equal(idle.text, '', 'closed without a response');
    // A connection error either way (SPEC): refused once the listener is gone, or reset when the
    // handshake landed in the listener's backlog just before it closed.
    await assert.rejects(fetch(`${server.url}/healthz`), (error: Error & { cause?: { code?: string } }) => {
      assert.ok(['ECONNREFUSED', 'ECONNRESET'].includes(error.cause?.code ?? ''), error.cause?.code);
      return true;
    });

    // The request that arrives on the busy connection: 503, and the connection is closed.
    await busy.send('\r\n');
    const refused = await busy.response();
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.connection, 'close');
    assert.match(JSON.parse(refused.body).error, /unavailable/i);
    await busy.closed;

    // The slow request's body trickles in over the drain and is answered as usual.
    for (const piece of slow.rest.match(/.{1,12}/g)!) {
      await sleep(150);
      await slow.connection.send(piece);
    }
    const answered = await slow.connection.response();
    assert.equal(answered.status, 200, answered.body);
    assert.deepEqual(JSON.parse(answered.body), { success: true, message: 'OTP sent successfully' });
    assert.equal(answered.headers.connection, 'close', 'no keep-alive once shutting down');
    await slow.connection.closed;

    // Exit 0 well inside the 20 s budget: nothing waited for the 72 s keep-alive timeout.
    assert.equal(await server.exited, 0, server.stderr());
    const log = messages(server);
    assert.ok(log.includes('completing background tasks'), JSON.stringify(log));
    assert.equal(log.at(-1), 'server stopped');
    assert.ok(
      server.logs.some((line) => line.msg === 'request completed' && (line.res as { statusCode?: number })?.statusCode === 200),
    );
  });

  test('responses still being sent to slow readers at the signal are delivered whole, then exit 0', async () => {
    const env = await embeddedEnv();
    const db = await openPglite(env.DATA_DIR!);
    const user = await createSignedInUser(db).finally(() => db.close());
    const server = await startServerProcess({ ...env, SHUTDOWN_TIMEOUT_SECONDS: '20', LOG_LEVEL: 'debug' });
    const upload = uploadForm(png(8 * 1024 * 1024), new Date().toISOString().slice(0, 10));
    const created = await fetch(`${server.url}/upload-creative`, {
      method: 'POST',
      headers: { ...upload.headers, ...user.headers },
      body: upload.body,
    });
    assert.equal(created.status, 201);
    const { creative } = (await created.json()) as { creative: { creative_url: string; size_bytes: number } };

    // Two downloads whose readers stop reading at once: an 8 MiB stored image and the 1.5 MB
    // Swagger UI bundle. The server has begun both responses when the signal arrives.
    const readers = await Promise.all(
      [creative.creative_url, '/docs/static/swagger-ui-bundle.js'].map(async (path) => {
        const connection = await RawConnection.open(server.port);
        await connection.send(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
        await connection.firstBytes();
        connection.socket.pause();
        return connection;
      }),
    );
    await sleep(300);

    server.proc.kill('SIGTERM');
    await server.waitForLog((line) => line.msg === 'shutdown started');
    await sleep(300);
    for (const reader of readers) reader.socket.resume();

    const [image, bundle] = await Promise.all(readers.map((reader) => reader.response()));
    assert.equal(image!.status, 200);
    assert.equal(image!.bytes.length, creative.size_bytes, 'the whole image');
    assert.equal(bundle!.status, 200);
    assert.equal(bundle!.bytes.length, readFileSync(SWAGGER_BUNDLE).length, 'the whole bundle');
    await Promise.all(readers.map((reader) => reader.closed));
    assert.equal(await server.exited, 0, 'no keep-alive connection held the drain past its budget');
  });

  test('the budget runs out (a request that never completes): what was abandoned is logged, exit 1', async () => {
    const server = await startServerProcess({ ...(await embeddedEnv()), SHUTDOWN_TIMEOUT_SECONDS: '1', LOG_LEVEL: 'debug' });
    const slow = await startSlowSignup(server);

    server.proc.kill('SIGTERM');
    assert.equal(await server.exited, 1);
    const abandoned = server.logs.find((line) => /shutdown budget of 1s exceeded/.test(line.msg));
    assert.ok(abandoned, JSON.stringify(messages(server)));
    assert.equal(abandoned.level, 50);
    assert.deepEqual(abandoned.requestsInFlight, ['POST /signup']);
    assert.deepEqual(abandoned.backgroundTasks, []);
    assert.ok(!messages(server).includes('server stopped'));
    await slow.connection.closed;
    assert.equal(slow.connection.text, '', 'the abandoned request got no answer');
  });

  test('a second signal during the drain exits at once with a non-zero code', async () => {
    const server = await startServerProcess({ ...(await embeddedEnv()), SHUTDOWN_TIMEOUT_SECONDS: '60', LOG_LEVEL: 'debug' });
    const slow = await startSlowSignup(server);

    server.proc.kill('SIGTERM');
    await server.waitForLog((line) => line.msg === 'shutdown started');
    server.proc.kill('SIGINT');
    assert.equal(await server.exited, 130, 'exited on the second signal, not after the 60 s budget');
    assert.ok(messages(server).some((msg) => /second signal/.test(msg)));
    assert.ok(!messages(server).includes('server stopped'));
    await slow.connection.closed;
    assert.equal(slow.connection.text, '');
  });

  test('a closed stdout (the log reader has gone) does not keep the process from stopping', async () => {
    const server = await startServerProcess(await embeddedEnv());
    server.proc.stdout!.destroy();
    assert.equal(await server.stop('SIGTERM'), 0);
  });
});
