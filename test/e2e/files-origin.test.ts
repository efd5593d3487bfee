import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, afterEach, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { todayIn } from '../../src/platform/calendar.ts';
import { tempDir } from '../support/backends.ts';
import { uploadForm } from '../support/multipart.ts';
import { startNginx, type Nginx } from '../support/nginx.ts';
import { freePort, startServerProcess, type ServerProcess } from '../support/server-process.ts';
import { BrowserErrors, CHROMIUM, INSTRUMENT, LAUNCH_ARGS, probe, skip } from './browser.ts';
import { picture } from './pictures.ts';

// The operator's CDN path: PUBLIC_FILES_URL on another origin (here nginx serving UPLOAD_DIR on a
// port of its own), so the page's images come from there, under the page's Content-Security-Policy.

const PHONE = '+919999900001';
const CODE = '246810';

interface Creative {
  id: number;
  variants: { thumb: string; feed: string };
}

describe('the web client with PUBLIC_FILES_URL on a second origin', { skip }, () => {
  const dirs = [tempDir('cheershare-e2e-data-'), tempDir('cheershare-e2e-uploads-')];
  const errors = new BrowserErrors();
  let files: Nginx;
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;

  before(async () => {
    files = await startNginx({ upstreams: [await freePort()], uploadDir: dirs[1]! });
    server = await startServerProcess({
      DATA_DIR: dirs[0]!,
      UPLOAD_DIR: dirs[1]!,
      PUBLIC_FILES_URL: `${files.url}/uploads`,
      OTP_TEST_NUMBERS: `${PHONE}=${CODE}`,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: 'UTC' });
    await context.addInitScript({ path: INSTRUMENT });
    page = await context.newPage();
    errors.watch(page);
  });

  afterEach(() => errors.check([page]));

  after(async () => {
    await browser?.close();
    if (server) assert.equal(await server.stop(), 0, 'the server stops cleanly');
    await files?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test("the galleries' thumbnails load from the files origin, allowed by the page's CSP", { timeout: 120_000 }, async () => {
    const response = await page.goto(server.url);
    const csp = response?.headers()['content-security-policy'] ?? '';
    assert.ok(csp.includes(`img-src 'self' data: blob: ${files.url};`), csp);

    await page.getByLabel('Phone number', { exact: true }).fill(PHONE);
    await page.getByLabel('Your name', { exact: true }).fill('Asha');
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.getByLabel('Code from the SMS', { exact: true }).fill(CODE);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Schedule creatives' }).waitFor();
    const token = await probe<string>(page, 'token()');

    // Uploaded by the API; the page shows them after a reload.
    const form = uploadForm(picture(640, 400, [30, 64, 175], [125, 211, 252]), todayIn('UTC'));
    const uploaded = await fetch(`${server.url}/upload-creative`, {
      method: 'POST',
      headers: { ...form.headers, authorization: `Bearer ${token}` },
      body: form.body,
    });
    assert.equal(uploaded.status, 201);
    const { creative } = (await uploaded.json()) as { creative: Creative };
    assert.ok(creative.variants.thumb.startsWith(`${files.url}/uploads/`), creative.variants.thumb);

    await page.reload();
    const selector = `#gallery-today .tile[data-id="${creative.id}"] img:not(.placeholder)`;
    const image = page.locator(selector);
    await image.waitFor();
    assert.equal(await image.getAttribute('src'), creative.variants.thumb);
    // Drawn: fetched from nginx's origin, not blocked (a blocked image has no natural width).
    assert.equal(await probe(page, `imageWidth('${selector}')`), 224);
    const drawnFrom = await image.evaluate((element) => (element as unknown as { currentSrc: string }).currentSrc);
    assert.equal(new URL(drawnFrom).origin, files.url);
  });
});
