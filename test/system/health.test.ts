import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { databaseBackends } from '../support/backends.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';

for (const backend of databaseBackends) {
  describe(`health and errors on ${backend.name}`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(backend);
    });
    after(() => t.close());

    test('GET /healthz answers 200', async () => {
      const res = await t.app.inject('/healthz');
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { status: 'ok' });
    });

    test('GET /readyz answers 200 while the database answers, 503 once shutting down', async () => {
      assert.equal((await t.app.inject('/readyz')).statusCode, 200);
      t.deps.lifecycle.shuttingDown = true;
      try {
        const res = await t.app.inject('/readyz');
        assert.equal(res.statusCode, 503);
        assert.deepEqual(res.json(), { error: 'service unavailable: the server is shutting down', code: 'service_unavailable' });
        assert.equal(res.headers.connection, 'close');
      } finally {
        t.deps.lifecycle.shuttingDown = false;
      }
    });

    test('unknown routes get a JSON 404', async () => {
      const res = await t.app.inject('/no/such/route?x=1');
      assert.equal(res.statusCode, 404);
      assert.deepEqual(res.json(), { error: 'GET /no/such/route not found', code: 'not_found' });
    });

    test('the OpenAPI document lists the routes', async () => {
      const res = await t.app.inject('/docs/json');
      assert.equal(res.statusCode, 200);
      const paths = Object.keys(res.json().paths);
      for (const path of ['/healthz', '/readyz']) assert.ok(paths.includes(path), `${path} in ${paths}`);
    });

    test('every response carries a request id', async () => {
      const res = await t.app.inject('/healthz');
      assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    });
  });
}
