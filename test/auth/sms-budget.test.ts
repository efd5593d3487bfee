import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DatabaseSmsBudget, RedisSmsBudget, type SmsBudget } from '../../src/auth/sms-budget.ts';
import { Migrator } from '../../src/platform/db/migrator.ts';
import { databaseBackends, TEST_REDIS_URL } from '../support/backends.ts';
import { connectTestRedis } from '../support/redis.ts';

interface Store {
  name: string;
  /** Two instances' budgets on one shared store. */
  open(perHour: number, now: () => number): Promise<{ a: SmsBudget; b: SmsBudget; close(): Promise<void> }>;
}

const stores: Store[] = databaseBackends.map((backend) => ({
  name: backend.name,
  async open(perHour, now) {
    const database = await backend.create();
    const db = await database.open();
    await new Migrator(db).up();
    return {
      a: new DatabaseSmsBudget(db, perHour, now),
      b: new DatabaseSmsBudget(db, perHour, now),
      async close() {
        await db.close();
        await database.drop();
      },
    };
  },
}));
if (TEST_REDIS_URL) {
  const url = TEST_REDIS_URL;
  stores.push({
    name: 'Redis',
    async open(perHour, now) {
      const { redis, cleanup } = await connectTestRedis(url);
      return { a: new RedisSmsBudget(redis, perHour, now), b: new RedisSmsBudget(redis, perHour, now), close: cleanup };
    },
  });
}

const HOUR_MS = 3_600_000;

for (const store of stores) {
  describe(`SMS budget on ${store.name}`, () => {
    test('two instances taking sends a few at a time never exceed SMS_PER_HOUR together; the next hour starts afresh', async () => {
      let clock = 1_800_000_000_000 - (1_800_000_000_000 % HOUR_MS) + 60_000;
      const { a, b, close } = await store.open(250, () => clock);
      try {
        let allowed = 0;
        const refusals: boolean[] = [];
        // B takes one send for every three of A's, so leases are left part-used.
        for (let i = 0; i < 400; i++) {
          const result = await (i % 4 === 3 ? b : a).take();
          if (result.allowed) allowed++;
          else {
            assert.equal(result.retryAfterMs, HOUR_MS - 60_000);
            refusals.push(result.firstRefusal);
          }
        }
        // Leases of 2 (1 % of 250): at most one send stays unused in each instance's hand.
        assert.ok(allowed <= 250 && allowed >= 248, `${allowed} sends allowed`);
        assert.equal(refusals.filter(Boolean).length, 1, 'one refusal raises the alert');
        // What the metrics gauge reads: the whole budget, taken, the same from either instance.
        assert.equal(await a.used(), 250);
        assert.equal(await b.used(), 250);
        clock += HOUR_MS;
        assert.equal(await a.used(), 0);
        assert.equal((await a.take()).allowed, true);
        assert.equal((await b.take()).allowed, true);
        // Leases of 2: each instance took two.
        assert.equal(await b.used(), 4);
      } finally {
        await close();
      }
    });
  });
}
