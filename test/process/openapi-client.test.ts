import assert from 'node:assert/strict';
import { copyFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends, tempDir } from '../support/backends.ts';
import { png } from '../support/images.ts';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { PROJECT_ROOT, runNodeScript, servedDocument } from '../support/openapi.ts';
import { uniquePhone } from '../support/signup.ts';

/** The compiler settings of a typical app that bundles its code (React Native, Expo, a web app). */
const APP_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'ESNext',
    moduleResolution: 'Bundler',
    lib: ['ES2022', 'DOM', 'DOM.Iterable'],
    types: [],
    strict: true,
    noUncheckedIndexedAccess: true,
    noEmit: true,
  },
  files: ['client.ts'],
};

/** What this test uses of docs/client-example.ts (its own types need the generated file). */
interface ExampleClientModule {
  cheershareClient(baseUrl: string): {
    signIn(name: string, phoneNumber: string, askForCode: () => Promise<string>): Promise<{ name: string; phone_number: string }>;
    upload(image: Blob, fileName: string, scheduledAt: string): Promise<{ id: number; scheduled_at: string }>;
    feed(timeZone?: string): Promise<{ today: { id: number }[] }>;
    signOut(): Promise<void>;
  };
}

const backend = databaseBackends[0]!; // the document does not depend on the database

describe('a client generated from /docs/json as docs/api-client.md says', () => {
  let fake: FakeTwilio;
  let t: TestApp;
  let dir: string;
  let baseUrl: string;
  before(async () => {
    fake = await startFakeTwilio();
    t = await buildTestApp(backend, fake.env);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;

    dir = tempDir('cheershare-openapi-client-');
    // The app's own dependencies: openapi-fetch, as `npm install openapi-fetch` would give it.
    symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(await servedDocument(t)));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(APP_TSCONFIG, null, 2));
    copyFileSync(join(PROJECT_ROOT, 'docs/client-example.ts'), join(dir, 'client.ts'));
    const generated = await runNodeScript(
      'node_modules/openapi-typescript/bin/cli.js',
      ['openapi.json', '--output', 'cheershare-api.d.ts'],
      dir,
    );
    assert.equal(generated.exitCode, 0, `openapi-typescript: ${generated.stderr}`);
  });
  after(async () => {
    await t?.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the example client type-checks against the generated types', async () => {
    const tsc = await runNodeScript('node_modules/typescript/bin/tsc', ['--project', 'tsconfig.json'], dir);
    assert.equal(tsc.exitCode, 0, tsc.stdout + tsc.stderr);
  });

  test('the example client signs in, uploads and reads the feed from a running server', async () => {
    const { cheershareClient } = (await import(pathToFileURL(join(dir, 'client.ts')).href)) as ExampleClientModule;
    const client = cheershareClient(baseUrl);
    const phone = uniquePhone();
    const user = await client.signIn('Asha', phone, async () => {
      await t.deps.background.drain();
      return fake.codeFor(phone, t.config.otp.length)!;
    });
    assert.deepEqual([user.name, user.phone_number], ['Asha', phone]);

    const today = new Date().toISOString().slice(0, 10);
    const creative = await client.upload(new Blob([png()], { type: 'image/png' }), 'photo.png', today);
    assert.equal(creative.scheduled_at, today);
    const feed = await client.feed('UTC');
    assert.deepEqual(
      feed.today.map(({ id }) => id),
      [creative.id],
    );

    await client.signOut();
    await assert.rejects(client.feed(), { status: 401, code: 'unauthorized' });
  });
});
