import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends } from '../support/backends.ts';
import { createSignedInUser, type SignedInUser } from '../support/users.ts';

const DAY_MS = 24 * 3_600_000;
// UTC+14 all year: "today" there differs from UTC's for ten hours a day.
const ZONE = 'Pacific/Kiritimati';
const dateIn14 = (days = 0) => new Date(Date.now() + 14 * 3_600_000 + days * DAY_MS).toISOString().slice(0, 10);

interface FeedPage {
  date: string;
  creatives: { id: number }[];
  next_cursor: string | null;
}

for (const backend of databaseBackends) {
  describe(`feed limits on ${backend.name}`, () => {
    let t: TestApp;
    let user: SignedInUser;
    before(async () => {
      t = await buildTestApp(backend, { FEED_LIMIT: '3', APP_TIMEZONE: ZONE }, { cacheTtlMs: 0 });
      user = await createSignedInUser(t.deps.db);
    });
    after(() => t.close());

    let uploaded = 0;
    /** Creatives scheduled on `date`, each uploaded a second after the one before (ids ascending too). */
    async function schedule(date: string, count: number): Promise<number[]> {
      const ids: number[] = [];
      for (let i = 0; i < count; i++) {
        const { rows } = await t.deps.db.query<{ id: number }>(
          `INSERT INTO creatives (user_id, creative_url, scheduled_at, content_type, size_bytes, created_at)
           VALUES ($1, $2, $3, 'image/png', 100, now() + make_interval(secs => $4)) RETURNING id::int AS id`,
          [user.user.id, `/uploads/${randomUUID()}.png`, date, uploaded++],
        );
        ids.push(rows[0]!.id);
      }
      return ids;
    }
    const get = (url: string) => t.app.inject({ method: 'GET', url, headers: user.headers });

    test('GET /scheduled: at most FEED_LIMIT a day, the oldest first, and `truncated` says where more exist', async () => {
      const today = await schedule(dateIn14(0), 4);
      const tomorrow = await schedule(dateIn14(1), 3);
      const response = await get('/scheduled');
      assert.equal(response.statusCode, 200);
      const body = response.json();
      assert.deepEqual(
        body.scheduled_creatives.today.map((c: { id: number }) => c.id),
        today.slice(0, 3),
      );
      assert.deepEqual(
        body.scheduled_creatives.tomorrow.map((c: { id: number }) => c.id),
        tomorrow,
      );
      assert.deepEqual(body.truncated, { today: true, tomorrow: false }, 'exactly FEED_LIMIT is not truncated');
    });

    test('GET /feed pages one day: every row exactly once while uploads arrive', async () => {
      const date = dateIn14(1);
      const existing = (await get(`/feed?date=${date}&limit=100`)).json<FeedPage>();
      const before = existing.creatives.map((c) => c.id);
      const seen: number[] = [];
      const added: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const response = await get(`/feed?date=${date}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(response.statusCode, 200, response.body);
        const page = response.json<FeedPage>();
        assert.equal(page.date, date);
        assert.ok(page.creatives.length <= 2);
        seen.push(...page.creatives.map((c) => c.id));
        cursor = page.next_cursor;
        // Uploads arrive between pages (after the last one, no page is left to show them).
        if (cursor !== null && pages++ < 3) added.push(...(await schedule(date, 2)));
      } while (cursor !== null);
      assert.equal(new Set(seen).size, seen.length, 'no row twice');
      assert.equal(added.length, 6);
      assert.deepEqual(seen, [...before, ...added], 'every row, in feed order, the new ones at the end');
    });

    test('GET /feed: the date must be today or tomorrow in the zone, limit 1–100, a cursor this API made', async () => {
      assert.equal((await get(`/feed?date=${dateIn14(0)}`)).statusCode, 200);
      assert.equal((await get(`/feed?date=${dateIn14(0)}&tz=Pacific/Kiritimati&limit=1`)).statusCode, 200);
      assert.equal((await get(`/feed?date=${dateIn14(1)}&limit=100`)).statusCode, 200);
      const refused = [
        `/feed?date=${dateIn14(2)}`,
        `/feed?date=${dateIn14(-1)}`,
        `/feed?date=2026-02-30`,
        `/feed`,
        `/feed?date=${dateIn14(0)}&limit=0`,
        `/feed?date=${dateIn14(0)}&limit=101`,
        `/feed?date=${dateIn14(0)}&cursor=bm9wZQ`,
        `/feed?date=${dateIn14(0)}&tz=Mars/Olympus`,
        // Tomorrow in Kiritimati is two days ahead of Pago Pago.
        `/feed?date=${dateIn14(1)}&tz=Pacific/Pago_Pago`,
      ];
      for (const url of refused) {
        const response = await get(url);
        assert.equal(response.statusCode, 400, url);
        assert.equal(response.json().code, 'validation_failed', url);
      }
      assert.equal((await t.app.inject({ method: 'GET', url: `/feed?date=${dateIn14(0)}` })).statusCode, 401);
    });
  });
}
