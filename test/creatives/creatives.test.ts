import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends } from '../support/backends.ts';
import { createSignedInUser, type SignedInUser } from '../support/users.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
// Fixed offsets, no daylight saving: Pago Pago is UTC-11, Kiritimati UTC+14, so Kiritimati's
// today is always one or two days after Pago Pago's.
const PAGO_PAGO = { zone: 'Pacific/Pago_Pago', offsetHours: -11 };
const KIRITIMATI = { zone: 'Pacific/Kiritimati', offsetHours: 14 };

/** The date `days` after today in a fixed-offset zone, computed without the code under test. */
function dateAt(offsetHours: number, days = 0): string {
  return new Date(Date.now() + offsetHours * 60 * 60 * 1000 + days * DAY_MS).toISOString().slice(0, 10);
}

interface Creative {
  id: number;
  creative_url: string;
  scheduled_at: string;
  content_type: string | null;
  size_bytes: number | null;
  created_at: string;
}

for (const backend of databaseBackends) {
  describe(`the feed, own creatives and /meta on ${backend.name}`, () => {
    let t: TestApp;
    let asha: SignedInUser;
    let ravi: SignedInUser;
    before(async () => {
      // Rows are written straight to the database here, as another instance would write them: no
      // cache, so each request sees them at once (the cache is tested in cache.test.ts).
      t = await buildTestApp(
        backend,
        { APP_TIMEZONE: PAGO_PAGO.zone, MAX_UPLOAD_BYTES: '5000000', MAX_SCHEDULE_DAYS: '90' },
        { cacheTtlMs: 0 },
      );
      asha = await createSignedInUser(t.deps.db, 'Asha');
      ravi = await createSignedInUser(t.deps.db, 'Ravi');
    });
    after(() => t.close());

    /** Inserts a creative row directly; returns its id. */
    async function insert(
      user: SignedInUser,
      scheduledAt: string,
      options: { createdAt?: string; url?: string; original?: boolean } = {},
    ): Promise<number> {
      const { rows } = await t.deps.db.query<{ id: number }>(
        `INSERT INTO creatives (user_id, creative_url, scheduled_at, content_type, size_bytes, created_at)
         VALUES ($1, $2, $3, $4, $5, COALESCE($6::timestamptz, now())) RETURNING id`,
        [
          user.user.id,
          options.url ?? `/uploads/${randomUUID()}.png`,
          scheduledAt,
          options.original ? null : 'image/png',
          options.original ? null : 1234,
          options.createdAt ?? null,
        ],
      );
      return rows[0]!.id;
    }

    const get = (url: string, user: SignedInUser | null = asha) => t.app.inject({ url, headers: user?.headers });

    test('GET /scheduled buckets everyone’s creatives into today and tomorrow of APP_TIMEZONE or ?tz', async () => {
      // One creative per day from Pago Pago's yesterday to four days after, alternating owners.
      const byDate = new Map<string, number>();
      for (let day = -1; day <= 4; day++) {
        const date = dateAt(PAGO_PAGO.offsetHours, day);
        byDate.set(date, await insert(day % 2 === 0 ? asha : ravi, date));
      }
      const expectFeed = async (query: string, offsetHours: number, user: SignedInUser) => {
        const res = await get(`/scheduled${query}`, user);
        assert.equal(res.statusCode, 200, res.body);
        const feed = res.json().scheduled_creatives as { today: Creative[]; tomorrow: Creative[] };
        assert.deepEqual(
          feed.today.map((c) => c.id),
          [byDate.get(dateAt(offsetHours))],
          `today for ${query}`,
        );
        assert.deepEqual(
          feed.tomorrow.map((c) => c.id),
          [byDate.get(dateAt(offsetHours, 1))],
          `tomorrow for ${query}`,
        );
        for (const creative of [...feed.today, ...feed.tomorrow]) assert.equal('user_id' in creative, false);
      };
      await expectFeed('', PAGO_PAGO.offsetHours, asha);
      await expectFeed(`?tz=${PAGO_PAGO.zone}`, PAGO_PAGO.offsetHours, ravi);
      await expectFeed(`?tz=${KIRITIMATI.zone}`, KIRITIMATI.offsetHours, asha);
      // The two zones really disagree, so the buckets above tell them apart.
      assert.notEqual(dateAt(KIRITIMATI.offsetHours), dateAt(PAGO_PAGO.offsetHours));

      await t.deps.db.query('DELETE FROM creatives');
    });

    test('GET /scheduled lists oldest uploads first, ties by id, and shows the original’s rows as /uploads with null metadata', async () => {
      const today = dateAt(PAGO_PAGO.offsetHours);
      const newest = await insert(asha, today, { createdAt: '2026-03-02T10:00:00Z' });
      const oldestA = await insert(ravi, today, { createdAt: '2026-03-01T10:00:00Z' });
      const oldestB = await insert(asha, today, { createdAt: '2026-03-01T10:00:00Z' });
      const name = `${randomUUID()}.jpeg`;
      const original = await insert(ravi, today, { createdAt: '2026-02-01T00:00:00Z', url: `./uploads/${name}`, original: true });

      const res = await get('/scheduled');
      assert.equal(res.statusCode, 200);
      const { today: feed, tomorrow } = res.json().scheduled_creatives as { today: Creative[]; tomorrow: Creative[] };
      assert.deepEqual(tomorrow, []);
      assert.deepEqual(
        feed.map((c) => c.id),
        [original, Math.min(oldestA, oldestB), Math.max(oldestA, oldestB), newest],
      );
      assert.deepEqual(feed[0], {
        id: original,
        creative_url: `/uploads/${name}`,
        scheduled_at: today,
        content_type: null,
        size_bytes: null,
        width: null,
        height: null,
        variants: null,
        placeholder: null,
        created_at: '2026-02-01T00:00:00.000Z',
      });
      assert.equal(feed[1]!.content_type, 'image/png');
      assert.equal(feed[1]!.size_bytes, 1234);

      await t.deps.db.query('DELETE FROM creatives');
    });

    test('GET /scheduled: an unknown ?tz is 400, a missing token 401', async () => {
      for (const tz of ['Mars/Olympus_Mons', 'Asia/Kolkata2', '', '../../etc/passwd']) {
        const res = await get(`/scheduled?tz=${encodeURIComponent(tz)}`);
        assert.equal(res.statusCode, 400, tz);
        assert.match(res.json().error, /tz/);
      }
      const unknownParameter = await get('/scheduled?zone=UTC');
      assert.equal(unknownParameter.statusCode, 400);
      const anonymous = await get('/scheduled', null);
      assert.equal(anonymous.statusCode, 401);
      assert.equal(anonymous.headers['www-authenticate'], 'Bearer');
    });

    test('GET /creatives pages through every own creative exactly once, by date then id', async () => {
      const base = dateAt(PAGO_PAGO.offsetHours);
      // Several per date, inserted out of order; Ravi's are interleaved and must never appear.
      const mine: { id: number; date: string }[] = [];
      for (const day of [5, 1, 3, 1, 0, 9, 3, 3, 7, 2, 0, 5, 8, 1, 4, 6, 2, 9, 0, 3, 7, 1, 4]) {
        const date = dateAt(PAGO_PAGO.offsetHours, day);
        mine.push({ id: await insert(asha, date), date });
        if (day % 3 === 0) await insert(ravi, date);
      }
      const expected = [...mine].sort((a, b) => a.date.localeCompare(b.date) || a.id - b.id).map((c) => c.id);

      const walk = async (query: string, limit: number) => {
        const seen: number[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const res = await get(`/creatives?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
          assert.equal(res.statusCode, 200, res.body);
          const page = res.json<{ creatives: Creative[]; next_cursor: string | null }>();
          assert.ok(page.creatives.length <= limit);
          seen.push(...page.creatives.map((c) => c.id));
          cursor = page.next_cursor;
          pages++;
          assert.ok(pages <= 100, 'the cursor must make progress');
        } while (cursor !== null);
        return { seen, pages };
      };

      for (const limit of [1, 5, 22, 23, 100]) {
        const { seen, pages } = await walk('', limit);
        assert.deepEqual(seen, expected, `limit ${limit}`);
        assert.equal(pages, Math.max(1, Math.ceil(expected.length / limit)), `no empty last page at limit ${limit}`);
      }

      const defaultPage = await get('/creatives');
      assert.equal(defaultPage.json().creatives.length, expected.length);
      assert.equal(defaultPage.json().next_cursor, null);

      // from and to are inclusive, also while paging.
      const from = dateAt(PAGO_PAGO.offsetHours, 2);
      const to = dateAt(PAGO_PAGO.offsetHours, 5);
      const window = [...mine]
        .filter((c) => c.date >= from && c.date <= to)
        .sort((a, b) => a.date.localeCompare(b.date) || a.id - b.id)
        .map((c) => c.id);
      assert.ok(window.length >= 6);
      assert.deepEqual((await walk(`&from=${from}&to=${to}`, 2)).seen, window);
      assert.deepEqual(
        (await walk(`&from=${from}`, 4)).seen,
        expected.filter((id) => mine.find((c) => c.id === id)!.date >= from),
      );
      assert.deepEqual(
        (await walk(`&to=${base}`, 4)).seen,
        expected.filter((id) => mine.find((c) => c.id === id)!.date <= base),
      );
      assert.deepEqual(
        (await walk(`&from=${to}&to=${to}`, 50)).seen,
        window.filter((id) => mine.find((c) => c.id === id)!.date === to),
      );

      const ravisOwn = await get('/creatives?limit=100', ravi);
      assert.ok(ravisOwn.json().creatives.every((c: Creative) => !mine.some((m) => m.id === c.id)));

      await t.deps.db.query('DELETE FROM creatives');
    });

    test('GET /creatives: a bad date, limit or cursor is 400', async () => {
      const bad = [
        'limit=0',
        'limit=101',
        'limit=abc',
        'limit=1.5',
        'from=2026-02-30',
        'to=2026-13-01',
        'from=yesterday',
        'from=2026-05-02&to=2026-05-01',
        'cursor=not-a-cursor',
        `cursor=${Buffer.from('2026-02-30/1').toString('base64url')}`,
        `cursor=${Buffer.from('2026-02-01/x').toString('base64url')}`,
        'cursor=',
        'page=2',
      ];
      for (const query of bad) {
        const res = await get(`/creatives?${query}`);
        assert.equal(res.statusCode, 400, query);
        assert.equal(typeof res.json().error, 'string');
      }
      assert.equal((await get('/creatives', null)).statusCode, 401);
    });

    test('GET /meta tells a client the limits and today in APP_TIMEZONE, without a token', async () => {
      const res = await t.app.inject({ url: '/meta', headers: { authorization: 'Bearer AAAAAAAAAAAAAAAAAAAAAAAAAA' } });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), {
        timezone: PAGO_PAGO.zone,
        today: dateAt(PAGO_PAGO.offsetHours),
        max_upload_bytes: 5_000_000,
        max_schedule_days: 90,
        otp_length: 6,
        accepted_types: ['image/jpeg', 'image/png', 'image/gif', 'image/webp'],
        max_image_pixels: 40_000_000,
        variants: { thumb: 320, feed: 1080 },
        default_country: 'IN',
        otp_allowed_countries: ['IN'],
        uploads_per_user_per_hour: 100,
        uploads_in_flight_per_user: 2,
        upload_max_seconds: 300,
        user_quota_bytes: 1024 ** 3,
        feed_limit: 500,
        page_limit_max: 100,
        sms_provider: 'console',
      });
    });

    test('the OpenAPI document describes every creatives route', async () => {
      const { paths } = (await t.app.inject('/docs/json')).json();
      for (const [path, method] of [
        ['/upload-creative', 'post'],
        ['/scheduled', 'get'],
        ['/creatives', 'get'],
        ['/creatives/{id}', 'delete'],
        ['/meta', 'get'],
        ['/uploads/{name}', 'get'],
      ] as const) {
        assert.ok(paths[path]?.[method], `${method.toUpperCase()} ${path}`);
      }
      assert.ok(paths['/upload-creative'].post.requestBody.content['multipart/form-data']);
      assert.ok(paths['/scheduled'].get.responses['200']);
    });
  });
}
