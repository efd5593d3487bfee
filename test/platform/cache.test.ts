import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { buildApp, type App } from '../../src/app.ts';
import { createToken } from '../../src/auth/tokens.ts';
import { createDependencies, type Dependencies } from '../../src/container.ts';
import { FEED_CACHE_TTL_MS } from '../../src/creatives/feed-cache.ts';
import { TOKEN_CACHE_TTL_MS } from '../../src/auth/sessions.ts';
import { ShortLivedCache } from '../../src/platform/cache.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends } from '../support/backends.ts';
import { png } from '../support/images.ts';
import { uploadForm } from '../support/multipart.ts';
import { createSignedInUser, type SignedInUser } from '../support/users.ts';

interface Creative {
  id: number;
}

/** A promise with its resolve function, to hold a load open while the test acts. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('ShortLivedCache', () => {
  let clock = 1_000_000;
  const now = () => clock;

  test('serves a loaded value for ttlMs, then loads again', async () => {
    const cache = new ShortLivedCache<string>({ ttlMs: 1000, maxEntries: 10, now });
    let loads = 0;
    const load = async () => `value ${++loads}`;
    assert.equal(await cache.get('k', load), 'value 1');
    clock += 499;
    assert.equal(await cache.get('k', load), 'value 1');
    clock += 501;
    assert.equal(await cache.get('k', load), 'value 2');
    assert.equal(loads, 2);
  });

  test('a request for an expired entry waits for the new load instead of getting the old value', async () => {
    const cache = new ShortLivedCache<string>({ ttlMs: 1000, maxEntries: 10, now });
    await cache.get('k', async () => 'first');
    clock += 1000;
    const slow = deferred<string>();
    const waiting = [cache.get('k', () => slow.promise), cache.get('k', async () => 'unused')];
    slow.resolve('second');
    assert.deepEqual(await Promise.all(waiting), ['second', 'second']);
  });

  test('the TTL counts from the start of the load, not its end', async () => {
    const cache = new ShortLivedCache<string>({ ttlMs: 1000, maxEntries: 10, now });
    const slow = deferred<string>();
    const first = cache.get('k', () => slow.promise);
    clock += 600;
    slow.resolve('old');
    assert.equal(await first, 'old');
    clock += 400;
    assert.equal(await cache.get('k', async () => 'new'), 'new');

    // A load slower than the TTL serves the requests that waited for it, and nobody after them.
    const slower = deferred<string>();
    const late = cache.get('j', () => slower.promise);
    clock += 1000;
    slower.resolve('late');
    assert.equal(await late, 'late');
    assert.equal(await cache.get('j', async () => 'next'), 'next');
  });

  test('concurrent misses share one load', async () => {
    const cache = new ShortLivedCache<string>({ ttlMs: 1000, maxEntries: 10, now });
    const gate = deferred<string>();
    let loads = 0;
    const load = () => {
      loads++;
      return gate.promise;
    };
    const results = Promise.all([cache.get('k', load), cache.get('k', load), cache.get('k', load)]);
    gate.resolve('v');
    assert.deepEqual(await results, ['v', 'v', 'v']);
    assert.equal(loads, 1);
  });

  test('invalidate drops entries at once, and a load already running does not store what it read', async () => {
    const cache = new ShortLivedCache<string>({ ttlMs: 1000, maxEntries: 10, now });
    assert.equal(await cache.get('k', async () => 'before'), 'before');
    cache.invalidate();
    assert.equal(await cache.get('k', async () => 'after'), 'after');

    const running = deferred<string>();
    const inFlight = cache.get('j', () => running.promise);
    cache.invalidate();
    // A request arriving after the invalidation does not join the earlier load either.
    const later = cache.get('j', async () => 'fresh');
    running.resolve('stale');
    assert.equal(await inFlight, 'stale');
    assert.equal(await later, 'fresh');
    assert.equal(await cache.get('j', async () => 'reloaded'), 'fresh');
  });

  test('invalidate with a predicate drops only the matching entries', async () => {
    const cache = new ShortLivedCache<number>({ ttlMs: 1000, maxEntries: 10, now });
    await cache.get('a', async () => 1);
    await cache.get('b', async () => 2);
    const running = deferred<number>();
    const inFlight = cache.get('c', () => running.promise);
    cache.invalidate((_key, value) => value === 1);
    assert.equal(await cache.get('a', async () => 10), 10);
    assert.equal(await cache.get('b', async () => 20), 2);
    // Whom a load under way belongs to is not known yet, so what it read is not kept either.
    running.resolve(3);
    assert.equal(await inFlight, 3);
    assert.equal(await cache.get('c', async () => 30), 30);
  });

  test('a failed load fails every request waiting for it, and the next one loads again', async () => {
    const cache = new ShortLivedCache<string>({ ttlMs: 1000, maxEntries: 10, now });
    const gate = deferred<void>();
    const failing = async () => {
      await gate.promise;
      throw new Error('database down');
    };
    const waiting = [cache.get('k', failing), cache.get('k', async () => 'unused')];
    gate.resolve();
    for (const request of waiting) await assert.rejects(request, /database down/);
    assert.equal(await cache.get('k', async () => 'loaded'), 'loaded');
  });

  test('validUntil ends an entry early, and a value already invalid is returned but not cached', async () => {
    const cache = new ShortLivedCache<{ until: number } | null>({
      ttlMs: 1000,
      maxEntries: 10,
      now,
      validUntil: (value) => value?.until ?? 0,
    });
    const soon = { until: clock + 300 };
    assert.equal(await cache.get('k', async () => soon), soon);
    clock += 299;
    assert.equal(await cache.get('k', async () => ({ until: 0 })), soon);
    clock += 1;
    assert.equal(await cache.get('k', async () => null), null);
    const later = { until: clock + 300 };
    assert.equal(await cache.get('k', async () => later), later);
  });

  test('keeps at most maxEntries, dropping the least recently used', async () => {
    const cache = new ShortLivedCache<string>({ ttlMs: 1000, maxEntries: 3, now });
    for (const key of ['a', 'b', 'c']) await cache.get(key, async () => key);
    assert.equal(await cache.get('a', async () => 'reloaded'), 'a');
    await cache.get('d', async () => 'd');
    assert.equal(await cache.get('b', async () => 'reloaded'), 'reloaded');
    assert.equal(await cache.get('a', async () => 'reloaded'), 'a');
    assert.equal(await cache.get('d', async () => 'reloaded'), 'd');
  });

  test('ttlMs 0 caches nothing', async () => {
    const cache = new ShortLivedCache<number>({ ttlMs: 0, maxEntries: 3, now });
    let loads = 0;
    await cache.get('k', async () => ++loads);
    assert.equal(await cache.get('k', async () => ++loads), 2);
  });
});

const today = () => new Date().toISOString().slice(0, 10);

async function feedIds(app: App, user: SignedInUser): Promise<number[]> {
  const res = await app.inject({ url: '/scheduled', headers: user.headers });
  assert.equal(res.statusCode, 200, res.body);
  const { today: list } = res.json().scheduled_creatives as { today: Creative[] };
  return list.map((creative) => creative.id);
}

async function upload(app: App, user: SignedInUser): Promise<number> {
  const form = uploadForm(png(), today());
  const res = await app.inject({
    method: 'POST',
    url: '/upload-creative',
    headers: { ...form.headers, ...user.headers },
    payload: form.body,
  });
  assert.equal(res.statusCode, 201, res.body);
  return (res.json().creative as Creative).id;
}

const status = async (app: App, url: string, user: SignedInUser, method: 'GET' | 'POST' | 'DELETE' = 'GET') =>
  (await app.inject({ method, url, headers: user.headers })).statusCode;

for (const backend of databaseBackends) {
  describe(`cached tokens and feed on ${backend.name}`, () => {
    let t: TestApp;
    // The caches' clock stands still unless a test moves it, so only an invalidation or the
    // passing of the TTL can explain a change in what they serve.
    let clock = Date.now();
    before(async () => {
      t = await buildTestApp(backend, {}, { now: () => clock });
    });
    after(() => t.close());

    test('a token revoked by POST /logout is refused at once on every route, though its lookup was cached', async () => {
      const user = await createSignedInUser(t.deps.db);
      assert.equal(await status(t.app, '/me', user), 200);
      assert.equal(await status(t.app, '/scheduled', user), 200);
      assert.equal(await status(t.app, '/logout', user, 'POST'), 204);
      assert.equal(await status(t.app, '/me', user), 401);
      assert.equal(await status(t.app, '/scheduled', user), 401);
      assert.equal(await status(t.app, '/creatives', user), 401);
    });

    test('POST /logout?all=true refuses every cached token of the user at once, and nobody else’s', async () => {
      const first = await createSignedInUser(t.deps.db);
      const { token } = await createToken(t.deps.db, first.user.id, 1);
      const sameUser = { ...first, token, headers: { authorization: `Bearer ${token}` } };
      const otherUser = await createSignedInUser(t.deps.db);
      for (const user of [first, sameUser, otherUser]) assert.equal(await status(t.app, '/me', user), 200);
      assert.equal(await status(t.app, '/logout?all=true', first, 'POST'), 204);
      assert.equal(await status(t.app, '/me', first), 401);
      assert.equal(await status(t.app, '/me', sameUser), 401);
      assert.equal(await status(t.app, '/me', otherUser), 200);
    });

    test('a token removed behind the app’s back is served for at most the TTL', async () => {
      const user = await createSignedInUser(t.deps.db);
      assert.equal(await status(t.app, '/me', user), 200);
      await t.deps.db.query('DELETE FROM tokens WHERE user_id = $1', [user.user.id]);
      clock += TOKEN_CACHE_TTL_MS - 1;
      // Still cached: the cache really is in the path, so the test above is not vacuous.
      assert.equal(await status(t.app, '/me', user), 200);
      clock += 1;
      assert.equal(await status(t.app, '/me', user), 401);
    });

    test('a new upload is in the feed on the next request, a deleted creative gone at once', async () => {
      const user = await createSignedInUser(t.deps.db);
      const before = await feedIds(t.app, user);
      const id = await upload(t.app, user);
      assert.deepEqual(await feedIds(t.app, user), [...before, id]);
      assert.equal(await status(t.app, `/creatives/${id}`, user, 'DELETE'), 204);
      assert.deepEqual(await feedIds(t.app, user), before);
    });

    test('a creative written behind the app’s back shows within the TTL', async () => {
      const user = await createSignedInUser(t.deps.db);
      const before = await feedIds(t.app, user);
      const { rows } = await t.deps.db.query<{ id: number }>(
        `INSERT INTO creatives (user_id, creative_url, scheduled_at) VALUES ($1, $2, $3) RETURNING id`,
        [user.user.id, `/uploads/${randomUUID()}.png`, today()],
      );
      clock += FEED_CACHE_TTL_MS - 1;
      assert.deepEqual(await feedIds(t.app, user), before);
      clock += 1;
      assert.deepEqual(await feedIds(t.app, user), [...before, rows[0]!.id]);
    });
  });

  describe(`a cached token still ends at its expiry on ${backend.name}`, () => {
    let t: TestApp;
    before(async () => {
      // A TTL far longer than the token's life: only its expiry can end the entry.
      t = await buildTestApp(backend, {}, { cacheTtlMs: 60_000 });
    });
    after(() => t.close());

    test('401 once the token has expired', async () => {
      const user = await createSignedInUser(t.deps.db);
      const { rows } = await t.deps.db.query<{ expiry: Date }>(
        `UPDATE tokens SET expiry = now() + interval '1 second' WHERE user_id = $1 RETURNING expiry`,
        [user.user.id],
      );
      assert.equal(await status(t.app, '/me', user), 200);
      await sleep(rows[0]!.expiry.getTime() - Date.now() + 50);
      assert.equal(await status(t.app, '/me', user), 401);
    });
  });
}

const postgres = databaseBackends.find((backend) => backend.name === 'postgres');
if (postgres) {
  describe('two instances on one PostgreSQL: changes made through one reach the other within the TTL', () => {
    let a: TestApp;
    let b: { app: App; deps: Dependencies };
    before(async () => {
      a = await buildTestApp(postgres);
      const deps = await createDependencies(a.config, pino({ level: 'silent' }));
      b = { app: await buildApp(deps), deps };
      await b.app.ready();
    });
    after(async () => {
      await b?.app.close();
      await b?.deps.close();
      await a?.close();
    });

    test('a token revoked on one instance is refused by the other after at most the token TTL', async () => {
      const user = await createSignedInUser(a.deps.db);
      assert.equal(await status(b.app, '/scheduled', user), 200);
      assert.equal(await status(a.app, '/logout', user, 'POST'), 204);
      assert.equal(await status(a.app, '/scheduled', user), 401);
      // Whatever the other instance cached was read before the logout, so it has expired by now.
      await sleep(TOKEN_CACHE_TTL_MS);
      assert.equal(await status(b.app, '/scheduled', user), 401);
    });

    test('an upload and a deletion on one instance show in the other’s feed after at most the feed TTL', async () => {
      const user = await createSignedInUser(a.deps.db);
      const before = await feedIds(b.app, user);
      const id = await upload(a.app, user);
      assert.deepEqual(await feedIds(a.app, user), [...before, id]);
      await sleep(FEED_CACHE_TTL_MS);
      assert.deepEqual(await feedIds(b.app, user), [...before, id]);

      assert.equal(await status(a.app, `/creatives/${id}`, user, 'DELETE'), 204);
      assert.deepEqual(await feedIds(a.app, user), before);
      await sleep(FEED_CACHE_TTL_MS);
      assert.deepEqual(await feedIds(b.app, user), before);
    });
  });
}
