/** Headless Chromium for the dashboard tests: Debian's `chromium` package driven by playwright-core. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from './harness.ts';

export const CHROMIUM = '/usr/bin/chromium';
/** Where the tests save the screenshots the README shows. */
export const SCREENSHOTS = join(ROOT, 'docs/images');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Signs in through the form, as a person would, and waits for the dashboard to show. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.locator('#sign-in').waitFor({ state: 'visible' });
  await page.fill('#admin-token', token);
  await page.click('#sign-in button[type="submit"]');
  await page.locator('#main').waitFor({ state: 'visible' });
  await page.locator('#refresh-status[data-failures]').waitFor();
}
