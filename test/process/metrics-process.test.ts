import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { tempDir } from '../support/backends.ts';
import { startFakeTwilio } from '../support/fake-twilio.ts';
import { freePort, killStrayProcesses, startServerProcess } from '../support/server-process.ts';

// In-memory database: these servers keep nothing; the upload directory is only created.
const uploadDir = tempDir();
const embeddedEnv = () => ({ DATA_DIR: 'memory://', UPLOAD_DIR: uploadDir });
after(() => {
  killStrayProcesses();
  rmSync(uploadDir, { recursive: true, force: true });
});

/** The TCP ports process `pid` listens on (its socket inodes matched against /proc/net/tcp{,6}). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // Closed between listing and reading.
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT, st 0A is LISTEN, inode is the tenth field.
      if (fields[3] === '0A' && inodes.has(fields[9]!)) ports.push(parseInt(fields[1]!.split(':')[1]!, 16));
    }
  }
  return ports.sort((a, b) => a - b);
}

describe('the metrics listener in a server process', { concurrency: 2, timeout: 120_000 }, () => {
  test('with METRICS_PORT: /metrics there, 404 on the API port; closed with the server', async () => {
    const metricsPort = await freePort();
    const server = await startServerProcess({ ...embeddedEnv(), METRICS_PORT: String(metricsPort) });
    try {
      const started = server.logs.find((line) => line.msg === 'server started')!;
      assert.equal(started.metrics, `http://127.0.0.1:${metricsPort}`);
      assert.deepEqual(
        listeningPorts(server.pid),
        [server.port, metricsPort].sort((a, b) => a - b),
      );
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      assert.equal(scrape.status, 200);
      const text = await scrape.text();
      assert.match(text, /^http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} 1$/m);
      assert.match(text, /^process_resident_memory_bytes \d+/m);
      assert.match(text, /^db_pool_connections\{state="idle"\} 1$/m);

      const onApi = await fetch(`${server.url}/metrics`);
      assert.equal(onApi.status, 404);
      assert.equal(((await onApi.json()) as { code: string }).code, 'not_found');
    } finally {
      assert.equal(await server.stop(), 0);
    }
    await assert.rejects(fetch(`http://127.0.0.1:${metricsPort}/metrics`));
  });

  test('during shutdown /metrics still answers while background tasks drain, and closes after', async () => {
    const fake = await startFakeTwilio();
    const metricsPort = await freePort();
    const server = await startServerProcess({
      ...embeddedEnv(),
      ...fake.env,
      APP_SECRET: 'a-secret-for-the-metrics-tests',
      METRICS_PORT: String(metricsPort),
    });
    try {
      fake.pause();
      const signup = await fetch(`${server.url}/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Asha', phone_number: '+919812345678' }),
      });
      assert.equal(signup.status, 200);
      await fake.waitForRequests(1);
      const exited = server.stop();
      await server.waitForLog((line) => line.msg === 'completing background tasks');
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      assert.match(text, /^background_tasks_in_flight 1$/m);
      assert.match(text, /^otp_requests_total\{outcome="sent"\} 1$/m);
      fake.resume();
      assert.equal(await exited, 0);
      await assert.rejects(fetch(`http://127.0.0.1:${metricsPort}/metrics`));
    } finally {
      fake.resume();
      await server.stop();
      await fake.close();
    }
  });

  test('without METRICS_PORT: the API port is the only one listening', async () => {
    const server = await startServerProcess(embeddedEnv());
    try {
      assert.deepEqual(listeningPorts(server.pid), [server.port]);
      assert.equal((await fetch(`${server.url}/metrics`)).status, 404);
      assert.equal(server.logs.find((line) => line.msg === 'server started')!.metrics, undefined);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});
