import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DatabaseSmsBudget,
  RedisSmsBudget,
  type BudgetAlerts,
  type SmsBudget,
  type SmsBudgetSettings,
} from '../../src/auth/sms-budget.ts';
import { Migrator } from '../../src/platform/db/migrator.ts';
import { databaseBackends, TEST_REDIS_URL } from '../support/backends.ts';
import { connectTestRedis } from '../support/redis.ts';

interface Store {
  name: string;
  /** Two instances' budgets on one shared store. */
  open(
    settings: SmsBudgetSettings,
    alerts: BudgetAlerts,
    now: () => number,
  ): Promise<{ a: SmsBudget; b: SmsBudget; close(): Promise<void> }>;
}

const stores: Store[] = databaseBackends.map((backend) => ({
  name: backend.name,
  async open(settings, alerts, now) {
    const database = await backend.create();
    const db = await database.open();
    await new Migrator(db).up();
    return {
      a: new DatabaseSmsBudget(db, settings, alerts, now),
      b: new DatabaseSmsBudget(db, settings, alerts, now),
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
    async open(settings, alerts, now) {
      const { redis, cleanup } = await connectTestRedis(url);
      const a = new RedisSmsBudget(redis, settings, alerts, now);
      return { a, b: new RedisSmsBudget(redis, settings, alerts, now), close: cleanup };
    },
  });
}

const HOUR_MS = 3_600_000;
const INDIA = { known: false, callingCode: '91' } as const;
const US = { known: false, callingCode: '1' } as const;
const KNOWN = { known: true } as const;

/** Alerts as the log would get them. */
function recordAlerts() {
  const seen: string[] = [];
  const alerts: BudgetAlerts = {
    halfUsed: (used, perHour) => seen.push(`half ${used}/${perHour}`),
    shareSpent: (counters) => seen.push(`spent ${counters}`),
  };
  return { seen, alerts };
}

for (const store of stores) {
  describe(`SMS budget on ${store.name}`, () => {
    const hourStart = 1_800_000_000_000 - (1_800_000_000_000 % HOUR_MS);

    test('two instances taking sends a few at a time never exceed SMS_PER_HOUR together; the next hour starts afresh', async () => {
      let clock = hourStart + 60_000;
      const { seen, alerts } = recordAlerts();
      const settings = { perHour: 250, reservedForKnownPercent: 0, callingCodes: 1 };
      const { a, b, close } = await store.open(settings, alerts, () => clock);
      try {
        let allowed = 0;
        // B takes one send for every three of A's, so leases are left part-used.
        for (let i = 0; i < 400; i++) {
          const result = await (i % 4 === 3 ? b : a).take(INDIA);
          if (result.allowed) allowed++;
          else assert.equal(result.retryAfterMs, HOUR_MS - 60_000);
        }
        // Leases of 2 (1 % of 250): at most one send stays unused in each instance's hand.
        assert.ok(allowed <= 250 && allowed >= 248, `${allowed} sends allowed`);
        assert.equal(seen.filter((line) => line.startsWith('spent')).length, 1, 'one refusal raises the alert');
        assert.equal(seen.filter((line) => line.startsWith('half')).length, 1, 'half the budget is announced once');
        // What the metrics gauge reads: the whole budget, taken, the same from either instance.
        assert.deepEqual(await a.used(), { known: 0, new: 250 });
        assert.deepEqual(await b.used(), { known: 0, new: 250 });
        clock += HOUR_MS;
        assert.deepEqual(await a.used(), { known: 0, new: 0 });
        assert.equal((await a.take(INDIA)).allowed, true);
        assert.equal((await b.take(INDIA)).allowed, true);
        // Leases of 2: each instance took two.
        assert.deepEqual(await b.used(), { known: 0, new: 4 });
      } finally {
        await close();
      }
    });

    test('pumping new numbers spends only their share, half of it per calling code; known numbers keep theirs, then fall back on what is left', async () => {
      const clock = hourStart + 600_000;
      const { seen, alerts } = recordAlerts();
      const settings = { perHour: 100, reservedForKnownPercent: 50, callingCodes: 'any' as const };
      const { a, b, close } = await store.open(settings, alerts, () => clock);
      try {
        assert.deepEqual(a.limits, { known: 50, new: 50 });
        const takeAll = async (recipient: typeof INDIA | typeof US | typeof KNOWN, times: number) => {
          const outcomes: boolean[] = [];
          for (let i = 0; i < times; i++) outcomes.push((await (i % 2 ? b : a).take(recipient)).allowed);
          return outcomes.filter(Boolean).length;
        };
        // One calling code: half of the new share, at the edge.
        assert.equal(await takeAll(INDIA, 30), 25);
        const refused = await a.take(INDIA);
        assert.deepEqual(refused, { allowed: false, retryAfterMs: HOUR_MS - 600_000 });
        // Another calling code gets the other half; then the new share is spent.
        assert.equal(await takeAll(US, 30), 25);
        assert.deepEqual(await a.used(), { known: 0, new: 50 });
        // Returning people still get their 50, and nothing beyond (the new share is spent).
        assert.equal(await takeAll(KNOWN, 60), 50);
        assert.deepEqual(await b.used(), { known: 50, new: 50 });
        assert.deepEqual(seen, ['spent new+new:91', 'half 50/100', 'spent new+new:1', 'spent known', 'spent new']);
      } finally {
        await close();
      }
    });

    test('a known number whose share is spent takes from the new share while it lasts', async () => {
      const { alerts } = recordAlerts();
      const { a, close } = await store.open(
        { perHour: 10, reservedForKnownPercent: 20, callingCodes: 1 },
        alerts,
        () => hourStart,
      );
      try {
        let known = 0;
        for (let i = 0; i < 12; i++) if ((await a.take(KNOWN)).allowed) known++;
        assert.equal(known, 10);
        assert.deepEqual(await a.used(), { known: 2, new: 8 });
        assert.equal((await a.take(INDIA)).allowed, false);
      } finally {
        await close();
      }
    });
  });
}
