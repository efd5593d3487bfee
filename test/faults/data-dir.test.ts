import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, test } from 'node:test';
import { tempDir } from '../support/backends.ts';
import { migratedDataDir } from '../support/embedded.ts';
import { postJson, timedFetch } from '../support/faults.ts';
import { freePort, killStrayProcesses, runProcess, startServerProcess } from '../support/server-process.ts';

const dirs: string[] = [];
after(() => {
  killStrayProcesses();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('one DATA_DIR, one process: a second server and the migrate command exit 1 naming it and its holder; after a crash the lock is taken over with nothing lost', async () => {
  const dataDir = await migratedDataDir();
  const uploadDir = tempDir();
  dirs.push(dirname(dataDir), uploadDir);
  const env = { DATA_DIR: dataDir, UPLOAD_DIR: uploadDir };
  const first = await startServerProcess(env);

  // Signed up through the first server: a user and a token, written by its database only.
  const phone = '+919876543210';
  assert.equal((await postJson(`${first.url}/signup`, { name: 'Asha', phone_number: phone })).status, 200);
  const sms = await first.waitForLog((line) => (line.sms as { to?: string } | undefined)?.to === phone);
  const code = /[0-9]{6}/.exec((sms.sms as { message: string }).message)![0];
  const verified = await postJson(`${first.url}/signup`, { phone_number: phone, otp: code });
  assert.equal(verified.status, 200);
  const auth = { authorization: `Bearer ${String(verified.body.token)}` };

  const expected = `DATA_DIR ${dataDir} is in use by process ${first.pid}`;
  const second = runProcess({ ...env, HOST: '127.0.0.1', PORT: String(await freePort()) });
  assert.equal(await second.exited, 1);
  const refusal = second.logs.filter((line) => line.level >= 50);
  assert.equal(refusal.length, 1, JSON.stringify(second.logs));
  assert.ok(refusal[0]!.msg.startsWith(expected), refusal[0]!.msg);
  assert.ok(!second.logs.some((line) => line.msg === 'server started'));

  const migrate = runProcess(env, { script: 'src/cli/migrate.ts', args: ['status'] });
  assert.equal(await migrate.exited, 1);
  assert.equal(migrate.stderr().trim().split('\n').length, 1, migrate.stderr());
  assert.ok(migrate.stderr().includes(expected), migrate.stderr());

  // The holder is unaffected by the refusals.
  assert.equal((await timedFetch(`${first.url}/me`, { headers: auth })).status, 200);

  // A crash leaves the lock behind; the next server takes it over and finds the user and token.
  first.proc.kill('SIGKILL');
  await first.exited;
  assert.ok(existsSync(`${dataDir}.lock`));
  const next = await startServerProcess(env);
  const me = await timedFetch(`${next.url}/me`, { headers: auth });
  assert.equal(me.status, 200, JSON.stringify(me.body));
  assert.equal((me.body.user as { phone_number: string }).phone_number, phone);
  assert.equal(await next.stop(), 0, next.stderr());
  assert.ok(!existsSync(`${dataDir}.lock`), 'released at shutdown');
});
