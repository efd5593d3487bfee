import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { embeddedServerWithUser } from '../support/faults.ts';
import { killStrayProcesses } from '../support/server-process.ts';

interface LoadRun {
  on(event: 'response', listener: (client: unknown, status: number) => void): void;
  on(event: 'reqError', listener: (error: NodeJS.ErrnoException) => void): void;
  stop(): void;
}
// autocannon has no type declarations; this is the part of its API used here.
const autocannon = createRequire(import.meta.url)('autocannon') as (
  options: { url: string; connections: number; duration: number; headers: Record<string, string>; timeout: number },
  done: (error: Error | null, result: { timeouts: number }) => void,
) => LoadRun;

const dirs: string[] = [];
after(() => {
  killStrayProcesses();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('SIGTERM under 100 connections of GET /scheduled: every request the server took is answered (200, or 503 with Connection: close), exit 0', async (t) => {
  const { server, user } = await embeddedServerWithUser({ SHUTDOWN_TIMEOUT_SECONDS: '20', LOG_LEVEL: 'debug' }, dirs);

  const statuses = new Map<number, number>();
  const errors = new Map<string, number>();
  let finished!: (result: { timeouts: number }) => void;
  const result = new Promise<{ timeouts: number }>((resolve) => (finished = resolve));
  const load = autocannon(
    { url: `${server.url}/scheduled`, connections: 100, duration: 5, headers: user.headers, timeout: 10 },
    (error, outcome) => {
      assert.ifError(error);
      finished(outcome);
    },
  );
  load.on('response', (_client, status) => statuses.set(status, (statuses.get(status) ?? 0) + 1));
  load.on('reqError', (error) => errors.set(error.code ?? error.message, (errors.get(error.code ?? error.message) ?? 0) + 1));

  await sleep(2_000);
  const answeredBeforeSignal = statuses.get(200) ?? 0;
  assert.ok(answeredBeforeSignal > 100, `load was running: ${answeredBeforeSignal} responses`);
  const signalled = Date.now();
  server.proc.kill('SIGTERM');
  const code = await server.exited;
  const drainMs = Date.now() - signalled;
  load.stop();
  const { timeouts } = await result;
  t.diagnostic(
    `drained in ${drainMs} ms; responses ${JSON.stringify([...statuses])}; connection errors ${JSON.stringify([...errors])}`,
  );

  assert.equal(code, 0, server.stderr());
  assert.ok(drainMs < 20_000, `drained in ${drainMs} ms`);
  assert.deepEqual(
    [...statuses.keys()].filter((status) => status !== 200 && status !== 503),
    [],
    'only 200 and 503',
  );
  assert.equal(timeouts, 0, 'no request left unanswered');
  // Once the listener has closed, reconnecting is refused (ECONNREFUSED), and a request autocannon
  // writes after a `Connection: close` answer meets a closed socket (ECONNRESET, EPIPE): neither
  // request was ever taken on. Every request the server took on, it answered:
  assert.deepEqual(
    [...errors.keys()].filter((code) => !['ECONNREFUSED', 'ECONNRESET', 'EPIPE'].includes(code)),
    [],
    JSON.stringify([...errors]),
  );
  const completed = server.logs.filter((line) => line.msg === 'request completed');
  const received = [...statuses.values()].reduce((sum, n) => sum + n, 0);
  assert.equal(received, completed.length, 'each response the server completed reached its client');
  assert.deepEqual(
    server.logs.filter((line) => line.level >= 50),
    [],
    'no error logged',
  );
  assert.equal(server.logs.at(-1)?.msg, 'server stopped');
});
