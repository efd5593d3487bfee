import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

// What the browser tests share: Debian's Chromium, the page instrumentation, and the rule that
// any console error or CSP violation fails a test.

export const CHROMIUM = '/usr/bin/chromium';
export const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const INSTRUMENT = fileURLToPath(new URL('./instrument.js', import.meta.url));

const missing = !existsSync(CHROMIUM);
export const skip = missing && process.env.CI !== 'true' ? `${CHROMIUM} is missing: apt-get install chromium` : false;

/** `window.e2e.<expression>` in the page (see instrument.js), awaited. */
export function probe<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate<T>(`window.e2e.${expression}`);
}

/**
 * Console errors, page errors and CSP violations fail the test. A refusal the test provokes on
 * purpose (a 415 for a text file) is logged by Chromium as "Failed to load resource"; each one is
 * allowed explicitly, by status and path, just before the action that causes it.
 */
export class BrowserErrors {
  readonly unexpected: string[] = [];
  private allowed: { status: number; path: string }[] = [];

  watch(page: Page): void {
    page.on('pageerror', (error) => this.unexpected.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const status = Number(/status of (\d{3})/.exec(message.text())?.[1]);
      const url = message.location().url;
      const path = url.startsWith('http') ? new URL(url).pathname : url;
      const index = this.allowed.findIndex((allowed) => allowed.status === status && allowed.path === path);
      if (index >= 0) this.allowed.splice(index, 1);
      else this.unexpected.push(`console error: ${message.text()} (${url})`);
    });
  }

  allow(status: number, path: string): void {
    this.allowed.push({ status, path });
  }

  async check(pages: Page[]): Promise<void> {
    for (const page of pages) {
      if (page.isClosed()) continue;
      const violations = await probe<string[]>(page, 'cspViolations.splice(0)');
      for (const violation of violations) this.unexpected.push(`CSP violation: ${violation}`);
    }
    const found = this.unexpected.splice(0);
    this.allowed = [];
    assert.deepEqual(found, [], 'the browser reported errors');
  }
}
