import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { base32, createToken } from '../../src/auth/tokens.ts';
import { findOrCreateUser } from '../../src/auth/users.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends } from '../support/backends.ts';
import { createSignedInUser } from '../support/users.ts';

const UNAUTHENTICATED = { error: 'you must be authenticated to access this resource', code: 'unauthorized' };
const INVALID_TOKEN = { error: 'invalid or missing authentication token', code: 'unauthorized' };

for (const backend of databaseBackends) {
  describe(`bearer tokens, /me and /logout on ${backend.name}`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(backend);
    });
    after(() => t.close());

    const me = (authorization?: string) =>
      t.app.inject({ url: '/me', headers: authorization === undefined ? {} : { authorization } });
    const logout = (authorization: string, query = '') =>
      t.app.inject({ method: 'POST', url: `/logout${query}`, headers: { authorization } });

    function assertUnauthorized(response: Awaited<ReturnType<typeof me>>, body: object) {
      assert.equal(response.statusCode, 401, response.body);
      assert.deepEqual(response.json(), body);
      assert.equal(response.headers['www-authenticate'], 'Bearer');
    }

    test('GET /me with a live token → 200 with the user; the scheme is case-insensitive', async () => {
      const { user, token } = await createSignedInUser(t.deps.db, 'Asha');
      const expected = { user: { ...user, created_at: user.created_at.toISOString() } };
      for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
        const response = await me(`${scheme} ${token}`);
        assert.equal(response.statusCode, 200, scheme);
        assert.deepEqual(response.json(), expected);
      }
    });

    test('no Authorization header → 401', async () => {
      assertUnauthorized(await me(), UNAUTHENTICATED);
    });

    test('a malformed header → 401', async () => {
      const { token } = await createSignedInUser(t.deps.db);
      for (const header of [
        '',
        'Bearer',
        `Basic ${token}`,
        `Bearer ${token.toLowerCase()}`,
        `Bearer ${token}x`,
        `Bearer ${token} extra`,
        `Token ${token}`,
      ]) {
        assertUnauthorized(await me(header), INVALID_TOKEN);
      }
    });

    test('an unknown token → 401', async () => {
      assertUnauthorized(await me(`Bearer ${base32(randomBytes(16))}`), INVALID_TOKEN);
    });

    test('an expired token → 401', async () => {
      const user = await findOrCreateUser(t.deps.db, '+919800000001', 'Expired');
      const token = base32(randomBytes(16));
      await t.deps.db.query(
        `INSERT INTO tokens (hash, user_id, expiry, scope) VALUES ($1, $2, now() - interval '1 second', 'authentication')`,
        [createHash('sha256').update(token).digest(), user.id],
      );
      assertUnauthorized(await me(`Bearer ${token}`), INVALID_TOKEN);
    });

    test('a token of another scope does not authenticate', async () => {
      const user = await findOrCreateUser(t.deps.db, '+919800000002', 'Other scope');
      const token = base32(randomBytes(16));
      await t.deps.db.query(
        `INSERT INTO tokens (hash, user_id, expiry, scope) VALUES ($1, $2, now() + interval '1 hour', 'activation')`,
        [createHash('sha256').update(token).digest(), user.id],
      );
      assertUnauthorized(await me(`Bearer ${token}`), INVALID_TOKEN);
    });

    test("a token made the original's way (SHA-256 of the base32 text, inserted directly) authenticates", async () => {
      // As the Go original issued it: base32 (no padding) of 16 random bytes — here bytes 0x00..0x0f —
      // and the hex SHA-256 of that text, both computed independently (Python's base64/hashlib).
      const token = 'AAAQEAYEAUDAOCAJBIFQYDIOB4';
      assert.equal(base32(Buffer.from([...Array(16).keys()])), token, 'our encoder agrees');
      const { rows } = await t.deps.db.query<{ id: number }>(
        `INSERT INTO users (name, phone_number) VALUES ('Original', '+919800000003') RETURNING id`,
      );
      await t.deps.db.query(
        `INSERT INTO tokens (hash, user_id, expiry, scope)
         VALUES (decode('b3f0010fec117d12f0a1d428855f4e1b64bcc4ab28c8cfc4b168d4b677a37578', 'hex'), $1,
                 now() + interval '48 hours', 'authentication')`,
        [rows[0]!.id],
      );
      const response = await me(`Bearer ${token}`);
      assert.equal(response.statusCode, 200);
      assert.equal(response.json().user.name, 'Original');
      assert.equal(response.json().user.phone_number, '+919800000003');
    });

    test('POST /logout → 204 and revokes only the token used', async () => {
      const first = await createSignedInUser(t.deps.db);
      const second = await createToken(t.deps.db, first.user.id, 48);
      const response = await logout(`Bearer ${first.token}`);
      assert.equal(response.statusCode, 204);
      assert.equal(response.body, '');
      assertUnauthorized(await me(`Bearer ${first.token}`), INVALID_TOKEN);
      assert.equal((await me(`Bearer ${second.token}`)).statusCode, 200, 'the other session stays');
      assertUnauthorized(await logout(`Bearer ${first.token}`), INVALID_TOKEN);
    });

    test("POST /logout?all=true → 204 and revokes every token of the user, nobody else's", async () => {
      const someone = await createSignedInUser(t.deps.db);
      const other = await createToken(t.deps.db, someone.user.id, 48);
      const bystander = await createSignedInUser(t.deps.db);
      const response = await logout(`Bearer ${someone.token}`, '?all=true');
      assert.equal(response.statusCode, 204);
      assert.equal(response.body, '');
      assertUnauthorized(await me(`Bearer ${someone.token}`), INVALID_TOKEN);
      assertUnauthorized(await me(`Bearer ${other.token}`), INVALID_TOKEN);
      assert.equal((await me(bystander.headers.authorization)).statusCode, 200);
      const { rows } = await t.deps.db.query('SELECT 1 FROM tokens WHERE user_id = $1', [someone.user.id]);
      assert.equal(rows.length, 0);
    });

    test('POST /logout?all=false revokes only the token used; a bad value → 400', async () => {
      const someone = await createSignedInUser(t.deps.db);
      const other = await createToken(t.deps.db, someone.user.id, 48);
      const bad = await logout(`Bearer ${someone.token}`, '?all=maybe');
      assert.equal(bad.statusCode, 400);
      assert.deepEqual(bad.json(), { error: 'querystring.all must be boolean', code: 'validation_failed', field: 'all' });
      assert.equal((await logout(`Bearer ${someone.token}`, '?all=false')).statusCode, 204);
      assert.equal((await me(`Bearer ${other.token}`)).statusCode, 200);
    });

    test('POST /logout without a token → 401', async () => {
      const response = await t.app.inject({ method: 'POST', url: '/logout' });
      assertUnauthorized(response, UNAUTHENTICATED);
    });

    test('public routes ignore the Authorization header', async () => {
      for (const authorization of ['Bearer nonsense', `Bearer ${base32(randomBytes(16))}`, 'Basic Zm9vOmJhcg==']) {
        assert.equal((await t.app.inject({ url: '/healthz', headers: { authorization } })).statusCode, 200);
        assert.equal((await t.app.inject({ url: '/readyz', headers: { authorization } })).statusCode, 200);
      }
    });

    test('the OpenAPI document lists /signup, /me and /logout', async () => {
      const paths = Object.keys((await t.app.inject('/docs/json')).json().paths);
      for (const path of ['/signup', '/me', '/logout']) assert.ok(paths.includes(path), `${path} in ${paths}`);
    });
  });
}
