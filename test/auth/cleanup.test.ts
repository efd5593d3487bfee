import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { runCleanup, startPeriodicCleanup, type CleanupTask } from '../../src/platform/periodic.ts';
import { createToken } from '../../src/auth/tokens.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends } from '../support/backends.ts';
import { capturingLogger } from '../support/log-capture.ts';
import { createSignedInUser } from '../support/users.ts';

for (const backend of databaseBackends) {
  describe(`cleanup of expired entries on ${backend.name}`, () => {
    let t: TestApp;
    let clock = Date.now();
    before(async () => {
      t = await buildTestApp(backend, {}, { now: () => clock });
    });
    after(() => t.close());

    test('expired tokens, OTP challenges and rate-limit counters are removed; live ones stay', async () => {
      const { user, token: live } = await createSignedInUser(t.deps.db);
      await t.deps.db.query(
        `INSERT INTO tokens (hash, user_id, expiry, scope) VALUES ('\\x01'::bytea, $1, now() - interval '1 minute', 'authentication')`,
        [user.id],
      );
      await t.deps.otp.store.replace('+919811111111', { id: crypto.randomUUID(), codeHash: Buffer.alloc(32), name: 'Gone' }, 1);
      await t.deps.otp.issue('+919822222222', 'Pending');
      await t.deps.rateLimiter.take([{ name: 'cleanup-test', key: 'cleanup-test', limit: 1, windowMs: 1_000, message: '' }]);
      await sleep(20);
      clock += 2_000;

      const capture = capturingLogger();
      await runCleanup(t.deps.cleanupTasks, capture.logger);

      const tokens = await t.deps.db.query<{ hash: Uint8Array }>('SELECT hash FROM tokens WHERE user_id = $1', [user.id]);
      assert.equal(tokens.rows.length, 1);
      assert.equal((await t.app.inject({ url: '/me', headers: { authorization: `Bearer ${live}` } })).statusCode, 200);
      const challenges = await t.deps.db.query<{ phone_number: string }>(
        'SELECT phone_number FROM otp_challenges ORDER BY phone_number',
      );
      assert.deepEqual(
        challenges.rows.map((row) => row.phone_number),
        ['+919822222222'],
      );
      const removed = Object.fromEntries(capture.lines.map((line) => [line.task, line.removed]));
      assert.deepEqual(removed, { 'expired tokens': 1, 'expired OTP challenges': 1, 'rate-limit counters': 1 });
    });

    test('the token created now is not swept', async () => {
      const { user } = await createSignedInUser(t.deps.db);
      await createToken(t.deps.db, user.id, 1);
      await runCleanup(t.deps.cleanupTasks, capturingLogger().logger);
      const { rows } = await t.deps.db.query('SELECT 1 FROM tokens WHERE user_id = $1', [user.id]);
      assert.equal(rows.length, 2);
    });
  });
}

describe('periodic cleanup', () => {
  test('runs at once and then every interval; a failing task is logged and does not stop the others', async () => {
    let runs = 0;
    const tasks: CleanupTask[] = [
      {
        name: 'broken',
        run: async () => {
          throw new Error('boom');
        },
      },
      { name: 'counting', run: async () => ++runs },
    ];
    const capture = capturingLogger();
    const cleanup = startPeriodicCleanup(tasks, capture.logger, 10);
    while (runs < 3) await sleep(5);
    await cleanup.stop();
    const after = runs;
    await sleep(50);
    assert.equal(runs, after, 'no run after stop()');
    assert.ok(capture.lines.some((line) => line.msg === 'cleanup failed' && line.task === 'broken'));
  });

  test('stop() waits for a run in progress', async () => {
    let finished = false;
    const slow: CleanupTask = {
      name: 'slow',
      run: async () => {
        await sleep(100);
        finished = true;
        return 0;
      },
    };
    const cleanup = startPeriodicCleanup([slow], capturingLogger().logger, 60_000);
    await cleanup.stop();
    assert.equal(finished, true);
  });
});
