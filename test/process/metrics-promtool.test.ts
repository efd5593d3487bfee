import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { tempDir } from '../support/backends.ts';
import { freePort, killStrayProcesses, startServerProcess } from '../support/server-process.ts';

const uploadDir = tempDir();
after(() => {
  killStrayProcesses();
  rmSync(uploadDir, { recursive: true, force: true });
});

test('promtool check metrics finds nothing to flag on a live /metrics, after traffic of every kind', async () => {
  const metricsPort = await freePort();
  const server = await startServerProcess({ DATA_DIR: 'memory://', UPLOAD_DIR: uploadDir, METRICS_PORT: String(metricsPort) });
  try {
    // A code (console provider), a refusal and a 404, so labelled series exist beside the defaults.
    const signup = (phone_number: string) =>
      fetch(`${server.url}/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Asha', phone_number }),
      });
    assert.equal((await signup('+919812345678')).status, 200);
    assert.equal((await signup('12')).status, 400);
    assert.equal((await fetch(`${server.url}/nowhere`)).status, 404);
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(text, /^nodejs_active_handles\{type="/m, 'the active handles by type stay');
    assert.doesNotMatch(text, /^nodejs_active_\w+_total/m);

    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(check.error, undefined, 'promtool runs (.ci/run installs it)');
    assert.equal(`${check.stdout}${check.stderr}`, '');
    assert.equal(check.status, 0);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
