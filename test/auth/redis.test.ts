import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends, TEST_REDIS_URL } from '../support/backends.ts';
import { uniqueIp, uniquePhone } from '../support/signup.ts';

describe('with REDIS_URL', { skip: !TEST_REDIS_URL && 'TEST_REDIS_URL not set' }, () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp(databaseBackends[0]!, { REDIS_URL: TEST_REDIS_URL });
  });
  after(() => t.close());

  test('challenges and counters live in Redis with TTLs; nothing in the database', async () => {
    const phone = uniquePhone();
    const response = await t.app.inject({
      method: 'POST',
      url: '/signup',
      payload: { name: 'Asha', phone_number: phone },
      remoteAddress: uniqueIp(),
    });
    assert.equal(response.statusCode, 200);
    const redis = t.deps.redis!;
    assert.equal(await redis.hget(`otp:${phone}`, 'name'), 'Asha');
    const ttl = await redis.pttl(`otp:${phone}`);
    assert.ok(ttl > 290_000 && ttl <= 300_000, `challenge TTL ${ttl} ms`);
    const cooldown = await redis.pttl(`rl:otp-resend:${phone}`);
    assert.ok(cooldown > 25_000 && cooldown <= 30_000, `cooldown TTL ${cooldown} ms`);
    const { rows } = await t.deps.db.query('SELECT 1 FROM otp_challenges');
    assert.equal(rows.length, 0);
  });

  test('Redis gone: /readyz stays 200 and reports it; OTP requests fail closed with 503 and Retry-After, limits are not skipped', async () => {
    assert.deepEqual((await t.app.inject('/readyz')).json(), { status: 'ok', database: 'ok', redis: 'ok' });
    t.deps.redis!.disconnect();
    const ready = await t.app.inject('/readyz');
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { status: 'ok', database: 'ok', redis: 'down' });
    const signup = await t.app.inject({ method: 'POST', url: '/signup', payload: { name: 'Asha', phone_number: uniquePhone() } });
    assert.equal(signup.statusCode, 503);
    assert.equal(signup.headers['retry-after'], '5');
    assert.deepEqual(signup.json(), {
      error: 'service unavailable (redis unavailable): try again in a few seconds',
      code: 'service_unavailable',
    });
    if (t.deps.redis!.status !== 'ready') await t.deps.redis!.connect();
  });
});
