import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, describe, test } from 'node:test';
import { tempDir } from '../support/backends.ts';
import { migratedDataDir } from '../support/embedded.ts';
import { killStrayProcesses, startServerProcess } from '../support/server-process.ts';

// The last line of defence (src/main.ts): an error that escapes every handler is logged as one
// `fatal` line, with the request id when the error came from a request's work, and the process
// exits non-zero for its supervisor to restart it. The error is planted by a module loaded only
// into this test's server (test/support/escaping-errors.ts), not by anything in the server.
const ESCAPING_ERRORS = new URL('../support/escaping-errors.ts', import.meta.url).href;
const dirs: string[] = [];
after(() => {
  killStrayProcesses();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('an error no handler caught', { concurrency: true, timeout: 120_000 }, () => {
  for (const [escape, message] of [
    ['throw', 'uncaught exception: exiting'],
    ['reject', 'unhandled promise rejection: exiting'],
  ] as const) {
    test(`${escape}: one fatal line with the error and the request id, then exit code 1`, async () => {
      const dataDir = await migratedDataDir();
      const uploadDir = tempDir();
      dirs.push(dirname(dataDir), uploadDir);
      const server = await startServerProcess(
        { DATA_DIR: dataDir, UPLOAD_DIR: uploadDir },
        { nodeOptions: ['--import', ESCAPING_ERRORS] },
      );
      const response = await fetch(`${server.url}/healthz`, { headers: { 'x-test-escape': escape } });
      assert.equal(response.status, 200);
      assert.equal(await server.exited, 1);

      const fatal = server.logs.filter((line) => line.level === 60);
      assert.equal(fatal.length, 1, JSON.stringify(server.logs.slice(-3)));
      const line = fatal[0] as unknown as { msg: string; requestId: string; err: { message: string; stack: string } };
      assert.equal(line.msg, message);
      assert.equal(line.requestId, response.headers.get('x-request-id'));
      assert.equal(line.err.message, `escaped on purpose: ${escape === 'throw' ? 'thrown' : 'rejected'}`);
      assert.match(line.err.stack, /escaping-errors\.ts/, 'the stack is in the one line');
      assert.equal(server.stderr(), '', 'nothing else is printed');
    });
  }
});
