import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { png } from '../support/images.ts';
import { uploadForm } from '../support/multipart.ts';
import { processBackends, signUpThroughApi, startHostileTarget } from '../support/process-backends.ts';
import { RawConnection } from '../support/raw-http.ts';
import { killStrayProcesses, type ServerProcess } from '../support/server-process.ts';
import { uniquePhone } from '../support/signup.ts';

// Issue 19: nothing a client sends stops the process or leaves a timer or stream behind. Every
// route gets every kind of hostile request, then the test waits past every timeout twice over and
// checks that the same process serves as before, with its memory back down.
const TIMEOUT_SECONDS = 2;
const HEADERS_TIMEOUT_SECONDS = 10; // HEADER_LIMITS in src/platform/http/body-timeouts.ts
const MAX_UPLOAD_BYTES = 64 * 1024;
const CONCURRENT_CONNECTIONS = 500;
// RSS after the storm and the wait may exceed RSS before it by at most this. Measured (issue 19's
// note): no growth on either backend; the bound leaves room for heap V8 keeps without leaking.
const RSS_GROWTH_BOUND_BYTES = 96 * 1024 * 1024;
const today = () => new Date().toISOString().slice(0, 10);

after(killStrayProcesses);

const ROUTES: [string, string][] = [
  ['GET', '/healthz'],
  ['GET', '/readyz'],
  ['GET', '/meta'],
  ['POST', '/signup'],
  ['GET', '/me'],
  ['POST', '/logout'],
  ['POST', '/upload-creative'],
  ['GET', '/scheduled'],
  ['GET', `/feed?date=${today()}`],
  ['GET', '/creatives'],
  ['DELETE', '/creatives/1'],
  ['GET', '/uploads/00000000-0000-0000-0000-000000000000.png'],
  ['GET', '/docs/json'],
  ['GET', '/'],
  ['POST', '/nope'],
];

function rssBytes(pid: number): number {
  const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kib) * 1024;
}

/** Statuses of every response a connection received (several when pipelined). */
function statusesOf(connection: RawConnection): number[] {
  return [...connection.text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
}

function head(method: string, path: string, headers: Record<string, string | number>): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `${method} ${path} HTTP/1.1\r\nHost: soak\r\n${lines.join('')}\r\n`;
}

/** Every hostile request for one route, each on a connection of its own (returned still open). */
async function hostileRequests(server: ServerProcess, method: string, path: string, auth: Record<string, string>) {
  const json = (body: string) => ({ ...auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  const form = uploadForm(png(MAX_UPLOAD_BYTES * 2), today());
  const formHead = { ...auth, ...form.headers, 'content-length': form.body.length };
  const big = `{"name":"${'a'.repeat(200 * 1024)}"}`;
  const plans: (() => Promise<RawConnection>)[] = [
    // Bodies over every limit: JSON (100 KiB) and upload (MAX_UPLOAD_BYTES), sent whole.
    () => send(head(method, path, json(big)) + big),
    () => send(head(method, path, formHead), form.body),
    // Content-Length larger than what is sent, then silence; a body stalled half-way; chunked, stalled.
    () => send(head(method, path, json('x'.repeat(5000))) + '{"name":"'),
    () => send(head(method, path, formHead), form.body.subarray(0, form.body.length / 2)),
    () =>
      send(head(method, path, { ...auth, 'content-type': 'application/json', 'transfer-encoding': 'chunked' }) + '3\r\n{"a\r\n'),
    // Slowloris: headers a line at a time, never finished.
    async () => {
      const connection = await send(`${method} ${path} HTTP/1.1\r\nHost: soak\r\n`);
      for (let i = 0; i < 3 && !connection.socket.destroyed; i++) {
        await sleep(300);
        connection.socket.write(`X-Slow-${i}: ${'z'.repeat(100)}\r\n`);
      }
      return connection;
    },
    // Garbage, and pipelined requests (with a body-less request between two with bodies).
    () => send(`\u0000\u00ff${method} ${path} HTTP/9.9\r\n\r\n\r\n`),
    () => send(head(method, path, json('{}')) + '{}' + head('GET', '/healthz', {}) + head(method, path, json('[1]')) + '[1]'),
    // Wrong content type, invalid JSON, invalid multipart.
    () => send(head(method, path, { ...auth, 'content-type': 'text/xml', 'content-length': 7 }) + '<a></a>'),
    () => send(head(method, path, json('{"name":')) + '{"name":'),
    () =>
      send(
        head(method, path, { ...auth, 'content-type': 'multipart/form-data; boundary=zz', 'content-length': 20 }) +
          '--zz\r\nnot a part\r\n',
      ),
    // A reset half-way through the body.
    async () => {
      const connection = await send(head(method, path, formHead), form.body.subarray(0, 4096));
      await sleep(50);
      connection.socket.resetAndDestroy();
      return connection;
    },
  ];
  async function send(text: string, bytes?: Buffer): Promise<RawConnection> {
    const connection = await RawConnection.open(server.port);
    connection.socket.write(text);
    if (bytes) connection.socket.write(bytes);
    return connection;
  }
  return Promise.all(plans.map((plan) => plan()));
}

/** A new person signs up, uploads an image for today and finds it in the feed. */
async function signUpUploadAndFeed(server: ServerProcess): Promise<void> {
  const auth = await signUpThroughApi(server, uniquePhone());
  const form = uploadForm(png(1024), today());
  const uploaded = await fetch(`${server.url}/upload-creative`, {
    method: 'POST',
    headers: { ...auth, ...form.headers },
    body: form.body,
  });
  assert.equal(uploaded.status, 201, await uploaded.clone().text());
  const { creative } = (await uploaded.json()) as { creative: { id: number } };
  const feed = await fetch(`${server.url}/feed?date=${today()}&limit=100`, { headers: auth });
  assert.equal(feed.status, 200);
  const ids = ((await feed.json()) as { creatives: { id: number }[] }).creatives.map(({ id }) => id);
  assert.ok(ids.includes(creative.id), `creative ${creative.id} in the feed ${ids.join(',')}`);
}

for (const backend of processBackends) {
  describe(
    `soak: every route, every hostile request, then every timeout twice over (${backend.name})`,
    { timeout: 240_000 },
    () => {
      let server: ServerProcess;
      let stop: (() => Promise<void>) | undefined;
      before(async () => {
        ({ server, stop } = await startHostileTarget(backend, TIMEOUT_SECONDS, { MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) }));
      });
      after(async () => {
        await stop?.();
      });

      test('the same process answers /readyz and a signup, upload and feed; no 5xx, no escaped error, RSS back down', async (t) => {
        await signUpUploadAndFeed(server);
        const rssBefore = rssBytes(server.pid);
        const auth = await signUpThroughApi(server, uniquePhone());

        const connections: RawConnection[] = [];
        for (const [method, path] of ROUTES) {
          for (const headers of [{}, auth]) connections.push(...(await hostileRequests(server, method, path, headers)));
        }
        const crowd = await Promise.all(
          Array.from({ length: CONCURRENT_CONNECTIONS }, async (_, index) => {
            const connection = await RawConnection.open(server.port);
            const [method, path] = ROUTES[index % ROUTES.length]!;
            connection.socket.write(head(method, path, { ...auth, 'content-length': 0 }));
            return connection;
          }),
        );
        connections.push(...crowd);
        const rssPeak = rssBytes(server.pid);

        // Past every timeout twice over: bodies and uploads (2 s), headers (10 s), the 1 s grace.
        await sleep(2 * (HEADERS_TIMEOUT_SECONDS + TIMEOUT_SECONDS) * 1000);
        const statuses = connections.flatMap(statusesOf);
        for (const connection of connections) connection.close();

        assert.equal(server.proc.exitCode, null, 'the process still runs');
        assert.equal(rssBytes(server.pid) > 0, true, 'the same pid');
        assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
        await signUpUploadAndFeed(server);
        assert.deepEqual(
          statuses.filter((status) => status >= 500),
          [],
          'no 5xx for what clients sent',
        );
        assert.ok(statuses.length > CONCURRENT_CONNECTIONS, `${statuses.length} responses`);
        const logText = `${server.logs.map((line) => JSON.stringify(line)).join('\n')}\n${server.stderr()}`;
        assert.doesNotMatch(logText, /uncaught|unhandled|\\n\s+at |\n\s+at /i, 'no escaped error, no stack trace');
        assert.deepEqual(
          server.logs.filter((line) => line.level >= 50),
          [],
          'nothing logged as an error',
        );
        // Garbage collected before measuring: what stays is what is still referenced.
        await sleep(1000);
        const rssAfter = rssBytes(server.pid);
        const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
        t.diagnostic(
          `RSS before ${mib(rssBefore)} MiB, at the peak ${mib(rssPeak)} MiB, after ${mib(rssAfter)} MiB; ${statuses.length} responses`,
        );
        assert.ok(rssAfter - rssBefore < RSS_GROWTH_BOUND_BYTES, `RSS grew by ${mib(rssAfter - rssBefore)} MiB`);
      });
    },
  );
}
