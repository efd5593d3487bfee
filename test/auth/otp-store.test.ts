import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { DatabaseChallengeStore } from '../../src/auth/otp/postgres-store.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { Migrator } from '../../src/platform/db/migrator.ts';
import { hashOtp } from '../../src/auth/otp/code.ts';
import { RedisChallengeStore } from '../../src/auth/otp/redis-store.ts';
import { OtpService, type OtpSettings } from '../../src/auth/otp/service.ts';
import type { ChallengeStore } from '../../src/auth/otp/store.ts';
import { databaseBackends, TEST_REDIS_URL, type TestDatabase } from '../support/backends.ts';
import { connectTestRedis } from '../support/redis.ts';

interface StoreUnderTest {
  store: ChallengeStore;
  /** The raw stored form of the challenge for `phone`, as text, to look for the plain code. */
  rawChallenge(phone: string): Promise<string>;
  close(): Promise<void>;
}

interface StoreFactory {
  name: string;
  open(): Promise<StoreUnderTest>;
}

const factories: StoreFactory[] = databaseBackends.map((backend) => ({
  name: `database store on ${backend.name}`,
  async open() {
    const database: TestDatabase = await backend.create();
    const db: Database = await database.open();
    await new Migrator(db).up();
    return {
      store: new DatabaseChallengeStore(db),
      async rawChallenge(phone) {
        const { rows } = await db.query('SELECT * FROM otp_challenges WHERE phone_number = $1', [phone]);
        return JSON.stringify(rows, (_key, value: unknown) =>
          value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value,
        );
      },
      async close() {
        await db.close();
        await database.drop();
      },
    };
  },
}));
if (TEST_REDIS_URL) {
  const url = TEST_REDIS_URL;
  factories.push({
    name: 'Redis store',
    async open() {
      const { redis, cleanup } = await connectTestRedis(url);
      return {
        store: new RedisChallengeStore(redis),
        rawChallenge: async (phone) => JSON.stringify(await redis.hgetall(`otp:${phone}`)),
        close: cleanup,
      };
    },
  });
}

const SETTINGS: OtpSettings = { secret: 'a-test-secret-of-enough-length', length: 6, ttlSeconds: 300, maxAttempts: 5 };

let phoneCounter = 0;
function newPhone(): string {
  return `+9198${String(process.pid % 1000).padStart(3, '0')}${String(++phoneCounter).padStart(5, '0')}`;
}

/** A code of the right shape that is not `code`. */
function wrongCode(code: string): string {
  return code === '000000' ? '000001' : '000000';
}

for (const factory of factories) {
  describe(`OTP challenges: ${factory.name}`, () => {
    let t: StoreUnderTest;
    let otp: OtpService;
    before(async () => {
      t = await factory.open();
      otp = new OtpService(t.store, SETTINGS);
    });
    after(() => t.close());

    test('a code is 6 digits and verifies once, returning the name it was requested with', async () => {
      const phone = newPhone();
      const code = await otp.issue(phone, 'Asha');
      assert.match(code, /^[0-9]{6}$/);
      assert.deepEqual(await otp.verify(phone, code), { name: 'Asha' });
      assert.equal(await otp.verify(phone, code), null, 'a code works once');
    });

    test('only an HMAC of the code is stored, never the code', async () => {
      const phone = newPhone();
      const code = await otp.issue(phone, 'Asha');
      const stored = await t.store.find(phone, SETTINGS.maxAttempts);
      assert.ok(stored);
      assert.deepEqual(Buffer.from(stored.codeHash), hashOtp(SETTINGS.secret, phone, code));
      const raw = await t.rawChallenge(phone);
      assert.ok(raw.includes('Asha'), raw);
      assert.ok(!new RegExp(`(?<![0-9a-f])${code}(?![0-9a-f])`).test(raw), `the plain code appears in ${raw}`);
    });

    test('a wrong code fails and counts, the right one still works before the attempts are spent', async () => {
      const phone = newPhone();
      const code = await otp.issue(phone, 'Asha');
      assert.equal(await otp.verify(phone, wrongCode(code)), null);
      assert.equal((await t.store.find(phone, SETTINGS.maxAttempts))?.attempts, 1);
      assert.deepEqual(await otp.verify(phone, code), { name: 'Asha' });
    });

    test('after OTP_MAX_ATTEMPTS wrong codes the challenge is destroyed: the right code fails', async () => {
      const phone = newPhone();
      const code = await otp.issue(phone, 'Asha');
      for (let i = 0; i < SETTINGS.maxAttempts; i++) assert.equal(await otp.verify(phone, wrongCode(code)), null);
      assert.equal(await t.store.find(phone, SETTINGS.maxAttempts), null);
      assert.equal(await t.rawChallenge(phone), factory.name === 'Redis store' ? '{}' : '[]');
      assert.equal(await otp.verify(phone, code), null);
    });

    test('a new request replaces the pending challenge: the old code fails, the new one works, attempts reset', async () => {
      const phone = newPhone();
      const first = await otp.issue(phone, 'First');
      let second = await otp.issue(phone, 'Second');
      while (second === first) second = await otp.issue(phone, 'Second');
      assert.equal(await otp.verify(phone, first), null);
      assert.equal((await t.store.find(phone, SETTINGS.maxAttempts))?.attempts, 1);
      const third = await otp.issue(phone, 'Third');
      assert.equal((await t.store.find(phone, SETTINGS.maxAttempts))?.attempts, 0);
      assert.equal(await otp.verify(phone, second), null);
      assert.deepEqual(await otp.verify(phone, third), { name: 'Third' });
    });

    test('a challenge expires after its TTL', async () => {
      const shortLived = new OtpService(t.store, { ...SETTINGS, ttlSeconds: 0.3 });
      const phone = newPhone();
      const code = await shortLived.issue(phone, 'Asha');
      assert.ok(await t.store.find(phone, SETTINGS.maxAttempts), 'pending before the TTL');
      await sleep(600);
      assert.equal(await shortLived.verify(phone, code), null);
    });

    test('no challenge at all: verification fails', async () => {
      assert.equal(await otp.verify(newPhone(), '123456'), null);
    });

    test('ten concurrent verifications with the right code: exactly one succeeds', async () => {
      const phone = newPhone();
      const code = await otp.issue(phone, 'Asha');
      const results = await Promise.all(Array.from({ length: 10 }, () => otp.verify(phone, code)));
      assert.equal(results.filter((result) => result !== null).length, 1, JSON.stringify(results));
    });

    test('concurrent wrong guesses cannot exceed the attempt limit', async () => {
      const phone = newPhone();
      const code = await otp.issue(phone, 'Asha');
      await Promise.all(Array.from({ length: 20 }, () => otp.verify(phone, wrongCode(code))));
      assert.equal(await otp.verify(phone, code), null);
    });

    test('writes are conditional on the challenge read: a replaced one is neither consumed nor charged', async () => {
      const phone = newPhone();
      await otp.issue(phone, 'Old');
      const old = await t.store.find(phone, SETTINGS.maxAttempts);
      assert.ok(old);
      const code = await otp.issue(phone, 'New');
      await t.store.recordFailure(phone, old.id, SETTINGS.maxAttempts);
      assert.equal(await t.store.consume(phone, old.id, SETTINGS.maxAttempts), false);
      const current = await t.store.find(phone, SETTINGS.maxAttempts);
      assert.equal(current?.attempts, 0);
      assert.deepEqual(await otp.verify(phone, code), { name: 'New' });
    });

    test('deleteExpired removes expired challenges only', async () => {
      const live = newPhone();
      const expired = newPhone();
      await otp.issue(live, 'Live');
      await t.store.replace(expired, { id: crypto.randomUUID(), codeHash: Buffer.alloc(32), name: 'Gone' }, 100);
      await sleep(300);
      const removed = await t.store.deleteExpired();
      if (factory.name === 'Redis store') assert.equal(removed, 0, 'Redis expires keys itself');
      else assert.ok(removed >= 1, `removed ${removed}`);
      assert.equal(await t.rawChallenge(expired), factory.name === 'Redis store' ? '{}' : '[]');
      assert.ok(await t.store.find(live, SETTINGS.maxAttempts));
    });
  });
}
