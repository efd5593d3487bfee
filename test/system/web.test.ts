import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PUBLIC_DIR } from '../../src/system/web.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends } from '../support/backends.ts';

const indexHtml = readFileSync(join(PUBLIC_DIR, 'index.html'), 'utf8');
const scripts = readdirSync(join(PUBLIC_DIR, 'js')).filter((name) => name.endsWith('.js'));

/** Every same-origin URL the page loads: src/href attributes and the modules' static imports. */
function referencedPaths(): string[] {
  const fromHtml = [...indexHtml.matchAll(/\s(?:src|href)="(\/[^"]*)"/g)].map((m) => m[1]!);
  const fromModules = scripts.flatMap((name) =>
    [...readFileSync(join(PUBLIC_DIR, 'js', name), 'utf8').matchAll(/^import .* from '\.\/([^']+)';$/gm)].map(
      (m) => `/js/${m[1]}`,
    ),
  );
  return [...new Set([...fromHtml, ...fromModules])];
}

const CONTENT_TYPES: Record<string, RegExp> = {
  js: /^application\/javascript|^text\/javascript/,
  css: /^text\/css/,
  svg: /^image\/svg\+xml/,
  html: /^text\/html/,
};

test('the page has no inline script, style or event handler, which the CSP would block', () => {
  assert.doesNotMatch(indexHtml, /<script(?![^>]*\ssrc=)[^>]*>/, 'a <script> without src');
  assert.doesNotMatch(indexHtml, /<style[\s>]/, 'a <style> element');
  assert.doesNotMatch(indexHtml, /\sstyle=/, 'a style attribute');
  assert.doesNotMatch(indexHtml, /\son[a-z]+=/, 'an inline event handler');
});

test('the client loads nothing from another origin (no CDN: it works offline)', () => {
  assert.doesNotMatch(indexHtml, /\s(?:src|href)="(?!\/)/, 'a src/href that is not a same-origin path');
  for (const name of [...scripts.map((script) => `js/${script}`), 'styles.css']) {
    assert.doesNotMatch(readFileSync(join(PUBLIC_DIR, name), 'utf8'), /https?:\/\/|url\(/, name);
  }
});

test('every form control in the page has a label', () => {
  const ids = [...indexHtml.matchAll(/<(?:input|select|textarea)\b[^>]*\sid="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(ids.length >= 6, `found ${ids.length} controls`);
  for (const id of ids) assert.match(indexHtml, new RegExp(`<label for="${id}">`), `#${id} has no <label>`);
});

for (const backend of databaseBackends) {
  describe(`the web client is served on ${backend.name}`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(backend);
    });
    after(() => t.close());

    test('GET / answers the page with a strict Content-Security-Policy', async () => {
      const res = await t.app.inject('/');
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.equal(res.body, indexHtml);
      const csp = String(res.headers['content-security-policy']);
      for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "script-src-attr 'none'"]) {
        assert.ok(csp.split(';').includes(directive), `${directive} in ${csp}`);
      }
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.ok(res.headers.etag, 'an ETag to revalidate with');
    });

    test('every file the page loads is served with its content type', async () => {
      const paths = referencedPaths();
      assert.ok(paths.includes('/js/app.js') && paths.includes('/styles.css') && paths.includes('/js/api.js'), String(paths));
      for (const path of paths) {
        const res = await t.app.inject(path);
        assert.equal(res.statusCode, 200, path);
        const pattern = CONTENT_TYPES[path.split('.').at(-1)!];
        assert.ok(pattern, `no expected type for ${path}`);
        assert.match(String(res.headers['content-type']), pattern, path);
      }
    });

    test('HEAD / works and /index.html is the same page', async () => {
      assert.equal((await t.app.inject({ method: 'HEAD', url: '/' })).statusCode, 200);
      assert.equal((await t.app.inject('/index.html')).body, indexHtml);
    });

    test('paths that are not files of the client still get the JSON 404', async () => {
      for (const path of ['/nope', '/js/', '/js', '/js/missing.js', '/../package.json', '/%2e%2e/package.json']) {
        const res = await t.app.inject(path);
        assert.equal(res.statusCode, 404, path);
        assert.match(res.json().error, /not found/, path);
      }
    });

    test('API routes are not shadowed by the static files', async () => {
      const res = await t.app.inject('/healthz');
      assert.deepEqual(res.json(), { status: 'ok' });
    });
  });
}

describe('the console hint follows the SMS provider the server uses', () => {
  const app = (env: Record<string, string>) => buildTestApp(databaseBackends[0]!, env);
  const twilio = { SMS_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: 'AC1', TWILIO_AUTH_TOKEN: 't', TWILIO_FROM: '+15005550006' };

  test('/meta names the provider, and the client shows the hint only for console', async () => {
    for (const [env, provider] of [
      [{}, 'console'],
      [{ ...twilio, APP_SECRET: 'a secret of sixteen+ characters' }, 'twilio'],
    ] as const) {
      const t = await app(env);
      try {
        assert.equal((await t.app.inject('/meta')).json<{ sms_provider: string }>().sms_provider, provider);
      } finally {
        await t.close();
      }
    }
    const client = readFileSync(join(PUBLIC_DIR, 'js', 'app.js'), 'utf8');
    assert.match(client, /byId\('dev-hint'\)\.hidden = meta\.sms_provider !== 'console';/);
  });
});
