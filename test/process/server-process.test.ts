import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { tempDir } from '../support/backends.ts';
import { startFakeTwilio } from '../support/fake-twilio.ts';
import { containsCode } from '../support/log-capture.ts';
import { killStrayProcesses, runProcess, startServerProcess, type ServerProcess } from '../support/server-process.ts';

const dirs: string[] = [];
function embeddedEnv(): Record<string, string> {
  const dataDir = tempDir();
  const uploadDir = tempDir();
  dirs.push(dataDir, uploadDir);
  return { DATA_DIR: dataDir, UPLOAD_DIR: uploadDir };
}
after(() => {
  killStrayProcesses();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function post(server: ServerProcess, path: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** No process of the group is left (npm, sh, tsx and the server all ended). */
function groupIsGone(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

// Each test starts server processes (about a second of CPU each): run them side by side.
describe('the server as a process', { concurrency: 2, timeout: 240_000 }, () => {
  test('npm start on the embedded default: /healthz, /readyz, /docs/json; Ctrl-C drains and stops it', async () => {
    const server = await startServerProcess(embeddedEnv(), { command: ['npm', 'start'], detached: true });
    try {
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      const docs = await fetch(`${server.url}/docs/json`);
      assert.equal(docs.status, 200);
      const paths = Object.keys(((await docs.json()) as { paths: object }).paths);
      for (const path of ['/healthz', '/readyz', '/signup']) assert.ok(paths.includes(path), `${path} in ${paths}`);
    } finally {
      // A terminal's Ctrl-C: SIGINT to the whole foreground process group (npm, sh, tsx, node).
      process.kill(-server.proc.pid!, 'SIGINT');
    }
    await server.exited; // npm re-raises the SIGINT it got on itself: its own status is 130 by design
    const messages = server.logs.map((line) => line.msg);
    assert.equal(server.logs.find((line) => line.msg === 'shutdown started')?.signal, 'SIGINT');
    assert.ok(!messages.some((msg) => /second signal/.test(msg)), 'one Ctrl-C is one signal, not two');
    assert.equal(messages.at(-1), 'server stopped', JSON.stringify(messages));
    assert.ok(groupIsGone(server.proc.pid!), 'nothing is left running');
  });

  test('restarting on the same DATA_DIR keeps the data: a token issued before the restart still works', async () => {
    const env = embeddedEnv();
    const first = await startServerProcess(env);
    assert.equal((await post(first, '/signup', { name: 'Asha', phone_number: '9876543210' })).status, 200);
    const sms = (await first.waitForLog((line) => typeof line.sms === 'object')).sms as { message: string };
    const code = /\d{6}/.exec(sms.message)![0];
    const verified = await post(first, '/signup', { phone_number: '+919876543210', otp: code });
    assert.equal(verified.status, 200);
    const { token, data: user } = (await verified.json()) as { token: string; data: { id: number } };
    assert.equal(await first.stop('SIGTERM'), 0);

    const second = await startServerProcess(env);
    try {
      assert.deepEqual(
        second.logs.filter((line) => line.msg === 'migration applied'),
        [],
        'the schema was kept too',
      );
      const me = await fetch(`${second.url}/me`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(me.status, 200);
      assert.deepEqual(((await me.json()) as { user: unknown }).user, user);
    } finally {
      assert.equal(await second.stop('SIGTERM'), 0);
    }
  });

  test('secrets never reach the logs: APP_SECRET, Twilio credentials, the code, the bearer token', async () => {
    const fake = await startFakeTwilio({ failures: 1, failureStatus: 503 });
    const appSecret = 'production-app-secret-0123456789';
    try {
      const server = await startServerProcess({
        ...embeddedEnv(),
        ...fake.env,
        ENV: 'production',
        APP_SECRET: appSecret,
        LOG_LEVEL: 'trace',
      });
      const phone = '+919876543210';
      assert.equal((await post(server, '/signup', { name: 'Asha', phone_number: phone })).status, 200);
      await fake.waitForMessages(1); // after one failed attempt (logged) and its retry
      const code = fake.codeFor(phone)!;
      assert.equal((await post(server, '/signup', { phone_number: phone, otp: '000000' })).status, 401);
      const verified = await post(server, '/signup', { phone_number: phone, otp: code });
      assert.equal(verified.status, 200);
      const { token } = (await verified.json()) as { token: string };
      const me = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(me.status, 200);
      assert.equal(await server.stop('SIGTERM'), 0);

      const output = JSON.stringify(server.logs) + server.stderr();
      assert.ok(
        server.logs.some((line) => line.msg === 'SMS attempt failed'),
        'the failure path was logged',
      );
      for (const [what, secret] of [
        ['APP_SECRET', appSecret],
        ['TWILIO_AUTH_TOKEN', fake.authToken],
        ['TWILIO_ACCOUNT_SID', fake.accountSid],
        ['bearer token', token],
      ]) {
        assert.ok(!output.includes(secret!), `${what} appears in the output`);
      }
      assert.ok(!containsCode(output, code), 'the code appears in the output');
    } finally {
      await fake.close();
    }
  });

  test('a DATA_DIR that cannot be opened: start-up fails with exit 1 and says so', async () => {
    const env = embeddedEnv();
    const dataDir = join(env.DATA_DIR!, 'a-file');
    writeFileSync(dataDir, 'not a directory');
    const child = runProcess({ ...env, DATA_DIR: dataDir });
    assert.equal(await child.exited, 1);
    const fatal = child.logs.find((line) => line.msg === 'start-up failed');
    assert.ok(fatal, JSON.stringify(child.logs) + child.stderr());
    assert.match(String((fatal.err as { message: string }).message), /ENOTDIR/);
    assert.ok(!child.logs.some((line) => line.msg === 'unhandled promise rejection'), JSON.stringify(child.logs));
  });

  test('npm run build, then node dist/main.js starts (migrations found from dist/), serves and stops', async () => {
    const build = runProcess({}, { command: ['npm', 'run', '--silent', 'build'] });
    assert.equal(await build.exited, 0, build.stderr() + JSON.stringify(build.logs));
    const server = await startServerProcess(embeddedEnv(), { script: 'dist/main.js' });
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    // The schema is there, whether the install-time copy brought it or the migrations did.
    assert.equal((await post(server, '/signup', { name: 'Asha', phone_number: '9876543210' })).status, 200);
    assert.equal(await server.stop('SIGTERM'), 0);
    assert.equal(server.logs.at(-1)?.msg, 'server stopped');
  });
});
