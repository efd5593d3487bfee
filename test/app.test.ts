import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { buildApp, type App } from '../src/app.ts';
import { loadConfig, type Env } from '../src/config.ts';
import { createDependencies, type Dependencies } from '../src/container.ts';
import { databaseBackends, tempDir, type DatabaseBackend, type TestDatabase } from './support/backends.ts';
import { capturingLogger } from './support/log-capture.ts';

interface AppWithRoutes {
  app: App;
  deps: Dependencies;
  log: ReturnType<typeof capturingLogger>;
  close(): Promise<void>;
}

/** The real app on a fresh database, with extra routes a test needs registered before it is ready. */
async function appWithRoutes(backend: DatabaseBackend, env: Env, addRoutes: (app: App, deps: Dependencies) => void) {
  const database: TestDatabase = await backend.create();
  const uploadDir = tempDir('cheershare-uploads-');
  const log = capturingLogger();
  const config = loadConfig({ ENV: 'test', UPLOAD_DIR: uploadDir, ...database.env, ...env });
  const deps = await createDependencies(config, log.logger);
  const app = await buildApp(deps);
  addRoutes(app, deps);
  await app.ready();
  return {
    app,
    deps,
    log,
    async close() {
      await app.close();
      await deps.close();
      await database.drop();
      rmSync(uploadDir, { recursive: true, force: true });
    },
  } satisfies AppWithRoutes;
}

for (const backend of databaseBackends) {
  describe(`an exception in a handler on ${backend.name}`, () => {
    let t: AppWithRoutes;
    before(async () => {
      t = await appWithRoutes(backend, {}, (app, deps) => {
        app.get('/throws', async () => {
          throw new Error('disk on fire at /srv/secret/path');
        });
        app.get('/bad-sql', async () => deps.db.query('SELECT password_hash FROM no_such_table WHERE id = $1', [1]));
      });
    });
    after(() => t.close());

    for (const [route, detail] of [
      ['/throws', 'disk on fire'],
      ['/bad-sql', 'no_such_table'],
    ] as const) {
      test(`${route}: 500 {"error":"internal server error"} without details; logged with the request id`, async () => {
        const res = await t.app.inject(route);
        assert.equal(res.statusCode, 500);
        assert.deepEqual(res.json(), { error: 'internal server error', code: 'internal' });
        for (const leak of [detail, 'SELECT', 'at ', '.ts']) assert.ok(!res.body.includes(leak), `${leak} in ${res.body}`);

        const requestId = res.headers['x-request-id'];
        const logged = t.log.lines.find((line) => line.msg === 'request failed' && line.reqId === requestId);
        assert.ok(logged, `an error log line with reqId ${requestId}`);
        assert.equal(logged.level, 50);
        const err = logged.err as { message: string; stack: string };
        assert.match(err.message, new RegExp(detail));
        assert.ok(err.stack.length > 0, 'the stack goes to the log, not the client');
      });
    }

    test('the process carries on: the next request is answered', async () => {
      assert.equal((await t.app.inject('/throws')).statusCode, 500);
      assert.equal((await t.app.inject('/healthz')).statusCode, 200);
    });
  });
}

describe('TRUST_PROXY: the client address the app sees', () => {
  let t: AppWithRoutes;
  before(async () => {
    t = await appWithRoutes(databaseBackends[0]!, { LOG_LEVEL: 'silent' }, () => {});
  });
  after(() => t.close());

  // Every request comes from 127.0.0.1 (inject) through a proxy at 10.1.2.3, for the client 203.0.113.9.
  const clientIp = async (trustProxy: string): Promise<string> => {
    const app = await buildApp({
      ...t.deps,
      config: { ...t.deps.config, trustProxy: loadConfig({ TRUST_PROXY: trustProxy }).trustProxy },
    });
    app.get('/ip', async (request) => request.ip);
    try {
      return (await app.inject({ url: '/ip', headers: { 'x-forwarded-for': '203.0.113.9, 10.1.2.3' } })).body;
    } finally {
      await app.close();
    }
  };

  const expectations: [string, string][] = [
    ['false', '127.0.0.1'],
    ['true', '203.0.113.9'],
    ['1', '10.1.2.3'],
    ['2', '203.0.113.9'],
    ['loopback', '10.1.2.3'],
    ['127.0.0.1, 10.0.0.0/255.0.0.0', '203.0.113.9'],
  ];
  for (const [trustProxy, expected] of expectations) {
    test(`TRUST_PROXY=${trustProxy} → ${expected}`, async () => assert.equal(await clientIp(trustProxy), expected));
  }
});
