import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { png } from '../support/images.ts';
import { uploadForm } from '../support/multipart.ts';
import { processBackends, signUpThroughApi, startHostileTarget } from '../support/process-backends.ts';
import { RawConnection, type RawResponse } from '../support/raw-http.ts';
import { killStrayProcesses, type ServerProcess } from '../support/server-process.ts';
import { uniquePhone } from '../support/signup.ts';

// Issue 19: a request answered before its body had arrived left its 408 timer behind, and when it
// fired it threw on a stream no one read: one anonymous request stopped the process.
const TIMEOUT_SECONDS = 2;
const today = () => new Date().toISOString().slice(0, 10);

after(killStrayProcesses);

/** Opens a connection and sends a request's head and the first part of its body, no more. */
async function partialRequest(server: ServerProcess, head: string, body: string | Buffer = ''): Promise<RawConnection> {
  const connection = await RawConnection.open(server.port);
  await connection.send(`${head.replaceAll('\n', '\r\n')}\r\n\r\n`);
  if (body.length > 0) connection.socket.write(body);
  return connection;
}

/** No log line or stderr output that a crash, an escaped error or a stack trace leaves. */
function assertNoEscapedError(server: ServerProcess): void {
  const text = `${server.logs.map((line) => JSON.stringify(line)).join('\n')}\n${server.stderr()}`;
  assert.doesNotMatch(text, /uncaught|unhandled|\n\s+at /i);
}

for (const backend of processBackends) {
  describe(`requests answered before their bodies arrived, then left (${backend.name})`, { timeout: 120_000 }, () => {
    let server: ServerProcess;
    let stop: (() => Promise<void>) | undefined;
    let auth: { authorization: string };
    before(async () => {
      ({ server, stop } = await startHostileTarget(backend, TIMEOUT_SECONDS));
      auth = await signUpThroughApi(server, uniquePhone());
    });
    after(async () => {
      await stop?.();
    });

    test('each is answered at once with Connection: close; past every timeout, three times over, the same process serves', async () => {
      const big = `{"name":"${'a'.repeat(300_000)}"}`;
      const form = uploadForm(png(256 * 1024), today());
      const early: [string, Promise<RawConnection>, number][] = [
        [
          'oversized JSON',
          partialRequest(
            server,
            `POST /signup HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: ${big.length}`,
            big.slice(0, 200_000),
          ),
          413,
        ],
        ['GET /healthz declaring a body', partialRequest(server, 'GET /healthz HTTP/1.1\nHost: x\nContent-Length: 10'), 200],
        ['GET /meta declaring a body', partialRequest(server, 'GET /meta HTTP/1.1\nHost: x\nContent-Length: 10'), 200],
        [
          'an unknown route with part of a body',
          partialRequest(server, 'POST /nope HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: 1000', '{"a":'),
          404,
        ],
        [
          'a wrong content type',
          partialRequest(server, 'POST /signup HTTP/1.1\nHost: x\nContent-Type: text/xml\nContent-Length: 5000', '<a>'),
          415,
        ],
        [
          'an upload without a token, with more declared than sent',
          partialRequest(
            server,
            `POST /upload-creative HTTP/1.1\nHost: x\nContent-Type: ${form.headers['content-type']}\nContent-Length: 900000`,
            form.body.subarray(0, 64 * 1024),
          ),
          401,
        ],
      ];
      const connections: RawConnection[] = [];
      for (const [what, opened, status] of early) {
        const connection = await opened;
        connections.push(connection);
        const response: RawResponse = await connection
          .response()
          .catch((error: Error) => assert.fail(`${what}: ${error.message}`));
        assert.equal(response.status, status, `${what}: ${response.body}`);
        assert.equal(response.headers.connection, 'close', what);
        if (status >= 400) assert.equal(typeof JSON.parse(response.body).code, 'string', what);
      }
      // Whichever way the client goes: reads its answer and closes, resets, or stays silent.
      connections.forEach((connection, index) => {
        if (index % 3 === 0) connection.close();
        if (index % 3 === 1) connection.socket.resetAndDestroy();
      });

      const stalledChunked = await partialRequest(
        server,
        'POST /signup HTTP/1.1\nHost: x\nContent-Type: application/json\nTransfer-Encoding: chunked',
        '5\r\n{"a":\r\n',
      );
      const stalledUpload = await partialRequest(
        server,
        `POST /upload-creative HTTP/1.1\nHost: x\nAuthorization: ${auth.authorization}\nContent-Type: ${form.headers['content-type']}\nContent-Length: ${form.body.length}`,
        form.body.subarray(0, 64 * 1024),
      );
      assert.equal((await stalledChunked.response()).status, 408);
      await stalledUpload.closed;

      await sleep(TIMEOUT_SECONDS * 3 * 1000);
      assert.equal(server.proc.exitCode, null, 'the process is still running');
      const ready = await fetch(`${server.url}/readyz`);
      assert.equal(ready.status, 200);
      const me = await fetch(`${server.url}/me`, { headers: auth });
      assert.equal(me.status, 200);
      assertNoEscapedError(server);
      for (const connection of connections) connection.close();
    });
  });
}
