import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.ts';

const UNIT = 'deploy/systemd/cheershare@.service';

/** The unit's `Key=value` settings, in order (a key may repeat). */
function settings(): [string, string][] {
  return readFileSync(UNIT, 'utf8')
    .split('\n')
    .filter((line) => /^[A-Za-z]+=/.test(line))
    .map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1)];
    });
}

function valuesOf(key: string): string[] {
  return settings()
    .filter(([name]) => name === key)
    .map(([, value]) => value);
}

test('systemd-analyze verify finds nothing to say about the template or an instance of it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cheershare-unit-'));
  try {
    // An instance name makes systemd resolve %i as it would for cheershare@4001.
    symlinkSync(resolve(UNIT), join(dir, 'cheershare@4001.service'));
    for (const unit of [UNIT, join(dir, 'cheershare@4001.service')]) {
      const run = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
      assert.equal(run.error, undefined, 'systemd-analyze is installed (apt-get install systemd)');
      assert.equal(run.status, 0, run.stderr);
      // verify exits 0 on unknown keys and unparsable values too; it only says so.
      assert.equal(run.stderr + run.stdout, '', `${unit}: ${run.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one instance per port, always restarted, its settings from an EnvironmentFile', () => {
  assert.deepEqual(
    valuesOf('Environment').filter((value) => value.startsWith('PORT=')),
    ['PORT=%i'],
  );
  assert.deepEqual(valuesOf('Restart'), ['always']);
  assert.ok(valuesOf('EnvironmentFile').includes('/etc/cheershare/cheershare.env'));
  assert.match(valuesOf('ExecStart')[0]!, /^\/usr\/bin\/node --max-semi-space-size=2 dist\/main\.js$/);
});

test('hardened: no new privileges, a read-only system but for the data and upload directories, private /tmp, a memory cap', () => {
  assert.deepEqual(valuesOf('NoNewPrivileges'), ['true']);
  assert.deepEqual(valuesOf('ProtectSystem'), ['strict']);
  assert.deepEqual(valuesOf('PrivateTmp'), ['true']);
  assert.deepEqual(valuesOf('ReadWritePaths'), ['/var/lib/cheershare/data /var/lib/cheershare/uploads']);
  assert.match(valuesOf('MemoryMax')[0] ?? '', /^\d+[KMG]$/);
});

test('systemd waits longer than SHUTDOWN_TIMEOUT_SECONDS before it kills a stopping instance', () => {
  const { shutdownTimeoutSeconds } = loadConfig({});
  const stop = Number(valuesOf('TimeoutStopSec')[0]);
  assert.ok(stop > shutdownTimeoutSeconds, `TimeoutStopSec=${stop}, SHUTDOWN_TIMEOUT_SECONDS=${shutdownTimeoutSeconds}`);
  assert.deepEqual(valuesOf('KillSignal'), ['SIGTERM']);
});
