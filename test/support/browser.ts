import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { TestServer } from './harness.js';

export const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = path.resolve('test-results', 'screenshots');

export const browserAvailable = existsSync(CHROMIUM);
if (!browserAvailable && process.env.CI) {
  throw new Error(`CI must run the browser tests: ${CHROMIUM} is missing (apt-get install chromium)`);
}
if (!browserAvailable) {
  console.warn(`\n*** Browser tests SKIPPED: ${CHROMIUM} is missing (apt-get install chromium) ***\n`);
}

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * One Chromium for the test file (playwright gives each launch a fresh profile), closed after
 * it. `open` starts a page of its own context (cookies included) at a path of the server, and
 * `shot` saves a screenshot under test-results/screenshots/. A test's pages close after it, so
 * no live socket of theirs holds up the server's close.
 */
export function useBrowser() {
  let browser: Browser | undefined;
  const pages: Page[] = [];
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  });
  afterEach(async () => {
    await Promise.all(pages.splice(0).map((page) => page.context().close()));
  });
  afterAll(async () => {
    await browser?.close();
  });

  return {
    async open(server: Pick<TestServer, 'url'>, route: string): Promise<Page> {
      if (!browser) throw new Error('the browser did not start');
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      pages.push(page);
      await page.goto(`${server.url}${route}`);
      return page;
    },
    async shot(page: Page, name: string, file = path.join(SCREENSHOTS, `${name}.png`)): Promise<string> {
      mkdirSync(path.dirname(file), { recursive: true });
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
  };
}

/** Signs in through the form; the page then shows the one asked for, or the overview. */
export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.locator('input[name="email"]').fill(email);
  await page.locator('input[name="password"]').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
