import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { tempDir } from '../support/backends.ts';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { startServerProcess, type ServerProcess } from '../support/server-process.ts';
import { BrowserErrors, CHROMIUM, INSTRUMENT, LAUNCH_ARGS, probe, skip } from './browser.ts';
import { picture } from './pictures.ts';

// The web client in Debian's Chromium against the real server process, with SMS going to a fake
// Twilio whose messages give the test its codes. It also writes the README's screenshots.

// Screenshots only when asked (`SCREENSHOT_DIR=docs/screenshots` rewrites the README's): `npm test` leaves the tree as it was.
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || undefined;
const WIDTHS = [360, 1280] as const;
const ZONE = 'Asia/Kolkata';
const PHONE = '+919876543210';
const NAME = 'Asha Rao';
// Far longer than the steps between a code and the resend it refuses, however slow the machine:
// the page's countdown is then run on Playwright's clock, not waited out.
const RESEND_SECONDS = 59; // under a minute, so that the page counts it in seconds
// The later sign-ins use a test number: nothing is sent, so the resend window does not apply.
const TEST_PHONE = '+919999900001';
const TEST_CODE = '424242';
const UPLOAD_BYTES = 2 * 1024 * 1024;
const STEP = { timeout: 60_000 };

interface Creative {
  id: number;
  creative_url: string;
  scheduled_at: string;
  variants: { thumb: string; feed: string };
}

function addDays(isoDate: string, days: number): string {
  const date = new Date(`${isoDate}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

describe('the web client in Chromium', { skip }, () => {
  let twilio: FakeTwilio;
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let today: string;
  const dirs = [tempDir('cheershare-e2e-data-'), tempDir('cheershare-e2e-uploads-')];
  const errors = new BrowserErrors();
  const pages: Page[] = [];

  async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: ZONE, locale: 'en-GB' });
    await context.addInitScript({ path: INSTRUMENT });
    const page = await context.newPage();
    // Time flows as usual until a test moves it on.
    await page.clock.install();
    errors.watch(page);
    pages.push(page);
    return { context, page };
  }

  /** GET/DELETE on the API from the test itself, with the token the page keeps. */
  async function api(path: string, token?: string, method = 'GET'): Promise<Response> {
    return fetch(`${server.url}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  }

  const tokenIn = (page: Page) => probe<string | undefined>(page, 'token()');

  async function myCreatives(token: string): Promise<Creative[]> {
    const res = await api('/creatives?limit=100', token);
    assert.equal(res.status, 200);
    return ((await res.json()) as { creatives: Creative[] }).creatives;
  }

  /** Checks nothing scrolls sideways at 360 px and 1280 px; with SCREENSHOT_DIR, full-page screenshots too. */
  async function capture(page: Page, name: string, { fullPage = true } = {}): Promise<void> {
    if (SCREENSHOT_DIR) mkdirSync(SCREENSHOT_DIR, { recursive: true });
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: width === 360 ? 760 : 900 });
      await probe(page, 'settleImages()');
      const sideways = await probe<number>(page, 'sideways()');
      assert.equal(sideways, 0, `"${name}" scrolls sideways at ${width} px`);
      if (SCREENSHOT_DIR) await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-${width}.png`), fullPage });
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  /** Phone → the test number's fixed code → signed in (no SMS, so no resend window). */
  async function signIn(page: Page): Promise<void> {
    await page.getByLabel('Phone number', { exact: true }).fill(TEST_PHONE);
    await page.getByLabel('Your name', { exact: true }).fill(NAME);
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.getByLabel('Code from the SMS', { exact: true }).fill(TEST_CODE);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Schedule creatives' }).waitFor();
  }

  async function upload(files: { name: string; buffer: Buffer }[], date: string): Promise<void> {
    await page.getByLabel('Scheduled for', { exact: true }).fill(date);
    await page.getByLabel('Images', { exact: true }).setInputFiles(files.map((file) => ({ ...file, mimeType: 'image/png' })));
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
  }

  const item = (file: string, state = '') =>
    page.locator(`#queue .item[data-file="${file}"]${state && `[data-state="${state}"]`}`);

  before(async () => {
    twilio = await startFakeTwilio();
    server = await startServerProcess({
      DATA_DIR: dirs[0]!,
      UPLOAD_DIR: dirs[1]!,
      APP_TIMEZONE: ZONE,
      OTP_RESEND_SECONDS: String(RESEND_SECONDS),
      OTP_TEST_NUMBERS: `${TEST_PHONE}=${TEST_CODE}`,
      ...twilio.env,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    ({ page } = await newPage());
  });

  afterEach(() => errors.check(pages));

  after(async () => {
    await browser?.close();
    if (server) assert.equal(await server.stop(), 0, 'the server stops cleanly');
    await twilio?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('/ answers the client with a strict Content-Security-Policy', STEP, async () => {
    const response = await page.goto(server.url);
    assert.equal(response?.status(), 200);
    const csp = response.headers()['content-security-policy'] ?? '';
    for (const directive of ["script-src 'self'", "style-src 'self'", "default-src 'self'"]) {
      assert.ok(csp.includes(directive), `${directive} in "${csp}"`);
    }
    await page.getByLabel('Phone number', { exact: true }).waitFor();
    await capture(page, '01-sign-in');
  });

  test('signing in: a bad number, the resend countdown and a wrong code are explained', STEP, async () => {
    const phone = page.getByLabel('Phone number', { exact: true });
    await phone.fill('12345');
    await page.getByLabel('Your name', { exact: true }).fill(NAME);
    errors.allow(400, '/signup');
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.locator('#phone-error', { hasText: "That isn't a valid phone number" }).waitFor();
    assert.equal(await phone.getAttribute('aria-invalid'), 'true');

    // National format: the server reads it for DEFAULT_COUNTRY (IN) and texts the E.164 number.
    await phone.fill('98765 43210');
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.locator('#sent-to', { hasText: 'We sent a code by SMS to 98765 43210.' }).waitFor();
    await twilio.waitForMessages(1);
    const code = twilio.codeFor(PHONE);
    assert.match(code ?? '', /^\d{6}$/);

    // Asking again at once is refused with Retry-After; the page counts down, then allows it.
    const resend = page.getByRole('button', { name: 'Send a new code' });
    const status = page.locator('#resend-status');
    errors.allow(429, '/signup');
    await resend.click();
    await page.locator('#resend-status', { hasText: /You can ask for a new code in \d+ s/ }).waitFor();
    assert.equal(await resend.isDisabled(), true);
    const first = Number(/in (\d+) s/.exec((await status.textContent()) ?? '')?.[1]);
    assert.ok(first > 1 && first <= RESEND_SECONDS, `counting down from ${first}`);
    await page.clock.fastForward(1_000);
    await page.locator('#resend-status', { hasText: `in ${first - 1} s` }).waitFor();
    await page.clock.fastForward(first * 1_000);
    await page.locator('#resend-status', { hasText: 'You can ask for a new code now.' }).waitFor();
    assert.equal(await resend.isDisabled(), false);
    assert.equal(twilio.messages().length, 1, 'the refused request sent nothing');

    // A fixed wrong code keeps the screenshot the same from run to run.
    const wrong = code === '000000' ? '111111' : '000000';
    await page.getByLabel('Code from the SMS', { exact: true }).fill(wrong);
    errors.allow(401, '/signup');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.locator('#code-error', { hasText: 'That code is wrong or has expired.' }).waitFor();
    await capture(page, '02-code');

    await page.getByLabel('Code from the SMS', { exact: true }).fill(code!);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Schedule creatives' }).waitFor();
    assert.equal(await page.locator('#account-name').textContent(), NAME);

    const me = await api('/me', await tokenIn(page));
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { user: { phone_number: string } }).user.phone_number, PHONE);
  });

  test('a PNG for today and one for tomorrow upload with the progress bar reaching 100 %', STEP, async () => {
    const meta = (await (await api('/meta')).json()) as { today: string; max_schedule_days: number };
    today = meta.today;
    const date = page.getByLabel('Scheduled for', { exact: true });
    assert.equal(await date.inputValue(), today);
    assert.equal(await date.getAttribute('min'), today);
    assert.equal(await date.getAttribute('max'), addDays(today, meta.max_schedule_days));

    const progressSeen = (file: string) => probe<number[] | undefined>(page, `progress[${JSON.stringify(file)}]`);

    const pictures = {
      'sunrise.png': picture(1200, 800, [194, 65, 12], [253, 186, 116], UPLOAD_BYTES),
      'harbour.png': picture(1200, 800, [30, 64, 175], [125, 211, 252], UPLOAD_BYTES),
    };
    // Loopback sends 2 MB in one go; at 2 MB/s the bar has time to show the bytes going out.
    const devtools = await page.context().newCDPSession(page);
    await devtools.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: UPLOAD_BYTES,
    });
    for (const [name, date] of [
      ['sunrise.png', today],
      ['harbour.png', addDays(today, 1)],
    ] as const) {
      await upload([{ name, buffer: pictures[name] }], date);
      await item(name, 'done').waitFor();
      assert.equal(await item(name).locator('progress').getAttribute('value'), '100');
      assert.equal(await item(name).locator('.percent').textContent(), '100 %');
      const seen = (await progressSeen(name)) ?? [];
      assert.ok(
        seen.some((value) => value > 0 && value < 100),
        `the bar showed the upload under way: ${seen}`,
      );
      assert.equal(seen.at(-1), 100, `progress went ${seen}`);
      assert.deepEqual(
        seen,
        [...seen].sort((a, b) => a - b),
        `progress only moves forward: ${seen}`,
      );
    }
    await devtools.detach();

    const token = (await tokenIn(page))!;
    const creatives = await myCreatives(token);
    assert.deepEqual(
      creatives.map((c) => c.scheduled_at),
      [today, addDays(today, 1)],
    );
    await page.locator('#gallery-today .tile').first().waitFor();
    await page.locator('#gallery-tomorrow .tile').first().waitFor();
    for (const [gallery, creative] of [
      ['#gallery-today', creatives[0]!],
      ['#gallery-tomorrow', creatives[1]!],
    ] as const) {
      const tiles = page.locator(`${gallery} .tile`);
      assert.equal(await tiles.count(), 1, gallery);
      assert.equal(await tiles.getAttribute('data-id'), String(creative.id), gallery);
      const image = tiles.locator('img:not(.placeholder)');
      assert.equal(await image.getAttribute('src'), creative.variants.thumb);
      assert.equal(await image.getAttribute('srcset'), `${creative.variants.thumb} 320w, ${creative.variants.feed} 1080w`);
      // Drawn for real: served by /uploads and allowed by the CSP; a tile needs the thumb (its
      // naturalWidth is corrected for the srcset density: 320 px drawn in the 224 px of `sizes`).
      assert.equal(await probe(page, `imageWidth('${gallery} .tile img:not(.placeholder)')`), 224, gallery);
      assert.equal(
        new URL(await image.evaluate((element) => (element as unknown as { currentSrc: string }).currentSrc)).pathname,
        creative.variants.thumb,
      );
      await tiles.locator('img.placeholder').waitFor({ state: 'detached' });
    }
    await capture(page, '03-workspace');
  });

  test('a text file named .png is refused with a 415, explained next to the file', STEP, async () => {
    errors.allow(415, '/upload-creative');
    await upload([{ name: 'notes.png', buffer: Buffer.from('Shopping list: bread, milk, tea\n') }], today);
    await item('notes.png', 'failed').waitFor();
    assert.match(
      (await item('notes.png').locator('.status').textContent()) ?? '',
      /Not an image the server accepts: it looked at what is inside “notes.png”, not at its name/,
    );
    assert.equal((await myCreatives((await tokenIn(page))!)).length, 2, 'nothing was stored');
    await capture(page, '04-upload-refused');
  });

  test('several dropped files queue one after another; My creatives pages and filters them', STEP, async () => {
    const later = addDays(today, 2);
    const batch = Array.from({ length: 7 }, (_, i) => ({
      name: `batch-${i + 1}.png`,
      buffer: picture(480, 320, [20 + i * 30, 120, 200 - i * 25], [240, 200 - i * 20, 80 + i * 20]),
    }));
    // Dragged in from the desktop this time, all at once.
    await page.getByLabel('Scheduled for', { exact: true }).fill(later);
    const dropped = batch.map(({ name, buffer }) => ({ name, type: 'image/png', base64: buffer.toString('base64') }));
    await probe(page, `dropFiles('#dropzone', ${JSON.stringify(dropped)})`);
    assert.equal(await page.locator('#preview .chosen').count(), 7, 'each dropped file is previewed');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    for (const { name } of batch) await item(name, 'done').waitFor();
    assert.equal(await probe(page, 'mostUploadingAtOnce'), 1, 'one upload at a time');

    // Nine of mine now: a first page of eight, then one more.
    const tiles = page.locator('#mine-list .tile');
    const more = page.getByRole('button', { name: 'Load more' });
    await page.locator('#mine-summary', { hasText: '8 creatives, more to load.' }).waitFor();
    assert.equal(await tiles.count(), 8);
    await more.click();
    await page.locator('#mine-summary', { hasText: /^9 creatives\.$/ }).waitFor();
    assert.equal(await tiles.count(), 9);
    assert.equal(await more.isHidden(), true);
    // The shared feed still shows only today and tomorrow.
    assert.equal(await page.locator('#gallery-today .tile').count(), 1);
    assert.equal(await page.locator('#gallery-tomorrow .tile').count(), 1);

    const from = page.getByLabel('From', { exact: true });
    const to = page.getByLabel('To', { exact: true });
    await from.fill(addDays(today, 1));
    await to.fill(today);
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('#mine-error', { hasText: '“From” is after “To”' }).waitFor();
    await to.fill(addDays(today, 1));
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('#mine-summary', { hasText: /^1 creative from/ }).waitFor();
    assert.equal(await tiles.count(), 1);
    await page.getByRole('button', { name: 'All dates' }).click();
    await page.locator('#mine-summary', { hasText: '8 creatives, more to load.' }).waitFor();
    await capture(page, '05-my-creatives');
  });

  test('deleting asks first, then removes the creative from the feed and the disk', STEP, async () => {
    const token = (await tokenIn(page))!;
    const todays = (await myCreatives(token)).find((c) => c.scheduled_at === today)!;
    const remove = page.getByRole('button', { name: new RegExp(`^Delete creative ${todays.id},`) });
    const dialog = page.getByRole('dialog', { name: 'Delete this creative?' });

    await remove.click();
    await dialog.waitFor();
    await page.getByRole('button', { name: 'Keep it' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal((await myCreatives(token)).length, 9, 'kept');

    await remove.click();
    await dialog.waitFor();
    await capture(page, '06-delete-confirm', { fullPage: false });
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.locator(`#mine-list .tile[data-id="${todays.id}"]`).waitFor({ state: 'detached' });
    await page.locator('#empty-today').waitFor();
    assert.equal(await page.locator('#gallery-today .tile').count(), 0);
    assert.equal(await page.locator('#gallery-tomorrow .tile').count(), 1);
    assert.equal((await myCreatives(token)).length, 8);
    assert.equal((await api(todays.creative_url)).status, 404, 'the file is gone');
  });

  test('logging out on this device, then on all devices', STEP, async () => {
    const firstToken = (await tokenIn(page))!;
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await page.locator('#signin-notice', { hasText: "You're logged out on this device." }).waitFor();
    assert.equal(await tokenIn(page), undefined, 'the token is forgotten');
    assert.equal((await api('/me', firstToken)).status, 401, 'and revoked');
    await capture(page, '07-signed-out');

    // Two devices signed in as the same person; "all devices" on one ends the other's session.
    await signIn(page);
    const other = await newPage();
    await other.page.goto(server.url);
    await signIn(other.page);
    const otherToken = (await tokenIn(other.page))!;
    assert.equal((await api('/me', otherToken)).status, 200);

    await page.getByRole('button', { name: 'Log out on all devices' }).click();
    await page.locator('#signin-notice', { hasText: "You're logged out on all your devices." }).waitFor();
    assert.equal((await api('/me', otherToken)).status, 401);

    errors.allow(401, '/me');
    await other.page.reload();
    await other.page.locator('#signin-notice', { hasText: 'Your session has ended.' }).waitFor();
    assert.equal(await tokenIn(other.page), undefined);
    await errors.check([other.page]);
    await other.context.close();
  });
});
