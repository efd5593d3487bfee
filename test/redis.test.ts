import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildTestApp, type TestApp } from './support/app.ts';
import { databaseBackends, TEST_REDIS_URL } from './support/backends.ts';
import { uniqueIp, uniquePhone } from './support/signup.ts';

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

  test('/readyz checks Redis; when Redis is gone it is 503 and signup fails closed with 500, limits are not skipped', async () => {
    assert.equal((await t.app.inject('/readyz')).statusCode, 200);
    t.deps.redis!.disconnect();
    const ready = await t.app.inject('/readyz');
    assert.equal(ready.statusCode, 503);
    assert.deepEqual(ready.json(), { error: 'redis unavailable', code: 'service_unavailable' });
    const signup = await t.app.inject({ method: 'POST', url: '/signup', payload: { name: 'Asha', phone_number: uniquePhone() } });
    assert.equal(signup.statusCode, 500);
    assert.deepEqual(signup.json(), { error: 'internal server error', code: 'internal' });
    await t.deps.redis!.connect();
  });
});
