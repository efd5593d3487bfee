import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { databaseBackends, TEST_REDIS_URL, tempDir, type TestDatabase } from '../support/backends.ts';
import { uploadForm } from '../support/multipart.ts';
import { halves } from '../support/photos.ts';
import { readmeBlocks, runShell } from '../support/readme.ts';
import { freePort } from '../support/server-process.ts';
import { uniquePhone } from '../support/signup.ts';
import { eventually } from '../support/wait.ts';

const postgres = databaseBackends.find((backend) => backend.name === 'postgres');

/** Ends what the README started, by the pids it recorded, if its own stop step did not. */
function killRecorded(runDir: string): void {
  for (const name of ['instance-a', 'instance-b', 'moto', 'nginx/nginx']) {
    const file = join(runDir, `${name}.pid`);
    if (!existsSync(file)) continue;
    try {
      process.kill(Number(readFileSync(file, 'utf8').trim()), 'SIGKILL');
    } catch {
      // Already stopped.
    }
  }
}

for (const backend of postgres && TEST_REDIS_URL ? [postgres] : []) {
  describe(
    "the README's operator commands: moto, two instances and a non-root nginx, run as written",
    { timeout: 600_000 },
    () => {
      // nginx run by root hands its workers to nobody, who must reach the temporary directories.
      const runDir = join(tempDir('cheershare-operator-'), 'run');
      chmodSync(join(runDir, '..'), 0o755);
      let database: TestDatabase;
      let env: Record<string, string>;
      after(async () => {
        killRecorded(runDir);
        await database?.drop();
        rmSync(join(runDir, '..'), { recursive: true, force: true });
      });

      const nginx = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${env.NGINX_PORT}${path}`, init);
      const instanceLogs = () =>
        ['a', 'b'].flatMap((name) =>
          readFileSync(join(runDir, `instance-${name}.log`), 'utf8')
            .split('\n')
            .filter((line) => line.startsWith('{'))
            .map((line) => JSON.parse(line) as { msg: string; sms?: { to: string; message: string } }),
        );

      test('the start-up blocks exit 0 and leave moto, both instances and nginx answering', async () => {
        database = await backend.create();
        const ports = await Promise.all(Array.from({ length: 6 }, () => freePort()));
        env = {
          HOME: process.env.HOME ?? '',
          RUN_DIR: runDir,
          DATABASE_URL: database.env.DATABASE_URL!,
          REDIS_URL: TEST_REDIS_URL!,
          S3_ENDPOINT: `http://127.0.0.1:${ports[0]}`,
          PORT_A: String(ports[1]),
          PORT_B: String(ports[2]),
          METRICS_A: String(ports[3]),
          METRICS_B: String(ports[4]),
          NGINX_PORT: String(ports[5]),
        };
        const blocks = readmeBlocks('operator');
        assert.ok(blocks.length >= 4, 'services, instances, nginx, checks');
        const result = await runShell(blocks.join('\n'), env);
        assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
        assert.match(result.stdout, /"status":"ok"/, 'readyz through nginx');
        assert.equal(result.stdout.match(/^sms_budget_limit 1000$/gm)?.length, 2, 'each metrics port answers');
      });

      test('through nginx: a code logged once by one instance, verified, an upload served by both instances from the bucket', async () => {
        const phone = uniquePhone();
        const json = { 'content-type': 'application/json' };
        const asked = await nginx('/signup', {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ name: 'Asha', phone_number: phone }),
        });
        assert.equal(asked.status, 200);
        let lines: ReturnType<typeof instanceLogs> = [];
        await eventually(async () => {
          lines = instanceLogs().filter((line) => line.sms?.to === phone);
          assert.equal(lines.length, 1);
        }, 20_000);
        assert.equal(lines[0]!.msg, 'SMS logged, not sent: SMS_PROVIDER=console is a development provider that only logs it');
        const code = /\d{6}/.exec(lines[0]!.sms!.message)![0];
        const verified = await nginx('/signup', {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ phone_number: phone, otp: code }),
        });
        assert.equal(verified.status, 200);
        const { token } = (await verified.json()) as { token: string };

        const form = uploadForm(await halves(64, 32).png().toBuffer(), new Date().toISOString().slice(0, 10));
        const uploaded = await nginx('/upload-creative', {
          method: 'POST',
          headers: { ...form.headers, authorization: `Bearer ${token}` },
          body: form.body,
        });
        assert.equal(uploaded.status, 201);
        const { creative } = (await uploaded.json()) as { creative: { creative_url: string } };
        for (const port of [env.PORT_A, env.PORT_B]) {
          const file = await fetch(`http://127.0.0.1:${port}${creative.creative_url}`);
          assert.equal(file.status, 200, `instance on ${port}`);
          assert.equal(file.headers.get('content-type'), 'image/png');
        }
      });

      test('the stop block ends nginx, both instances and moto', async () => {
        const result = await runShell(readmeBlocks('operator-stop').join('\n'), { ...env, NGINX_DIR: join(runDir, 'nginx') });
        assert.equal(result.code, 0, result.stderr);
        await eventually(async () => {
          for (const name of ['instance-a', 'instance-b', 'moto']) {
            const pid = Number(readFileSync(join(runDir, `${name}.pid`), 'utf8'));
            assert.throws(() => process.kill(pid, 0), `${name} has exited`);
          }
          await assert.rejects(nginx('/healthz'));
        }, 60_000);
        const stopped = instanceLogs().filter((line) => line.msg === 'server stopped');
        assert.equal(stopped.length, 2, 'each instance drained and stopped');
      });
    },
  );
}
