/**
 * The dashboard in a real browser (Debian's headless Chromium driven by playwright-core) against the real gateway
 * under `wrangler dev`: sign-in, the Content-Security-Policy, the token never in a URL, the states shown when the
 * data endpoints answer 401 or 404, keyboard navigation, and screenshots at desktop and phone sizes.
 * The figures themselves (real traffic, health, alerts) are tested in dashboard-data.test.ts.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo-origins.ts';
import { E2E_ADMIN_TOKEN, rawRequest, startGateway, type RunningGateway } from './harness.ts';
import { launchChromium, signIn, SCREENSHOTS } from './browser.ts';

let gateway: RunningGateway;
let origin: EchoOrigin;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every URL the page asked for, and the Authorization header it sent with it. */
let requests: { url: string; authorization: string | undefined }[];
let violations: string[];

beforeAll(async () => {
  origin = await startEchoOrigin({ service: 'samples', instance: 'samples-1' });
  [gateway, browser] = await Promise.all([
    startGateway({ services: [{ name: 'samples', routes: [{ pathPrefix: '/samples' }], instances: [{ url: origin.url }] }] }),
    launchChromium(),
  ]);
  mkdirSync(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await origin?.close();
});

beforeEach(async () => {
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  requests = [];
  violations = [];
  page.on('request', (request) => requests.push({ url: request.url(), authorization: request.headers().authorization }));
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
});

afterEach(async () => {
  await context?.close();
});

describe('the dashboard at /dashboard', () => {
  it('is served with a strict Content-Security-Policy and has no inline script or style', async () => {
    const response = await rawRequest(gateway.url, '/dashboard/');
    expect(response.status).toBe(200);
    const csp = String(response.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    // Every script is a file; no event-handler attributes, no style attributes or elements.
    const scripts = [...response.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="\.\/[\w./-]+"/);
      expect(body!.trim()).toBe('');
    }
    expect(response.body).not.toMatch(/\son[a-z]+=|\sstyle=|<style/i);
    for (const asset of ['/dashboard/app.js', '/dashboard/chart-data.js', '/dashboard/vendor/uPlot.iife.min.js', '/dashboard/dashboard.css']) {
      const file = await rawRequest(gateway.url, asset);
      expect(file.status, asset).toBe(200);
      expect(String(file.headers['content-security-policy']), asset).toContain("script-src 'self'");
    }
    // The type declarations for the tests are not served (public/.assetsignore).
    expect((await rawRequest(gateway.url, '/dashboard/chart-data.d.ts')).status).not.toBe(200);
  });

  it('asks for a sign-in when the admin endpoints answer 401, and refuses a wrong token', async () => {
    await page.goto(`${gateway.url}/dashboard/`);
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    expect(await page.locator('#main').isHidden()).toBe(true);
    expect(await page.evaluate('document.activeElement?.id')).toBe('admin-token');

    await page.fill('#admin-token', 'not-the-admin-token-0123456789');
    await page.press('#admin-token', 'Enter');
    await expect.poll(() => page.textContent('#sign-in-error')).toContain('refused this token (401)');
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('keeps the admin token in sessionStorage only, sends it as a bearer token and never puts it in a URL', async () => {
    await page.goto(`${gateway.url}/dashboard/`);
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    requests.length = 0; // from here on, every call carries the token
    await signIn(page, E2E_ADMIN_TOKEN);
    expect(await page.evaluate('Object.values(sessionStorage)')).toEqual([E2E_ADMIN_TOKEN]);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    expect((await context.cookies()).length).toBe(0);
    const apiCalls = requests.filter((request) => !request.url.includes('/dashboard/'));
    expect(apiCalls.length).toBeGreaterThan(0);
    for (const request of apiCalls) expect(request.authorization).toBe(`Bearer ${E2E_ADMIN_TOKEN}`);
    for (const request of requests) expect(request.url).not.toContain(E2E_ADMIN_TOKEN);
    expect(page.url()).not.toContain(E2E_ADMIN_TOKEN);

    await page.click('#sign-out');
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('shows, per endpoint, why a figure is missing instead of drawing zeros, and saves screenshots', async () => {
    // A gateway without the read plane, health plane or alerts (an older deployment) answers 404 on their endpoints:
    // played here by the browser, since this gateway has them all. The page must say which failed and why.
    // Without a token they answer 401 like the admin API, so the page still asks to sign in.
    const problem = (status: number, title: string) => ({ status, contentType: 'application/problem+json', body: JSON.stringify({ type: 'about:blank', title, status }) });
    await page.route(
      (url) => ['/metrics/json', '/health/services', '/alerts/alerts'].includes(url.pathname),
      (route) => route.fulfill(route.request().headers().authorization ? problem(404, 'Not Found') : problem(401, 'Unauthorized')),
    );
    await page.goto(`${gateway.url}/dashboard/`);
    await signIn(page, E2E_ADMIN_TOKEN);
    expect(await page.textContent('#refresh-status')).toMatch(/Last refreshed \d\d:\d\d:\d\d/);
    expect(await page.textContent('[data-figure="traffic"]')).toContain('not available on this gateway (404)');
    expect(await page.textContent('#refresh-status')).toContain('metrics: not available on this gateway (404)');
    expect(await page.textContent('[data-figure="services"]')).toContain('not available on this gateway (404)');
    expect(await page.textContent('#alerts')).toContain('Alerts unavailable: not available on this gateway (404)');
    expect(Number(await page.getAttribute('#refresh-status', 'data-failures'))).toBeGreaterThanOrEqual(3);
    expect(await page.textContent('#fleet')).not.toMatch(/\b0\b/);
    expect(violations).toEqual([]);

    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-signed-in-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-signed-in-phone.png'), fullPage: true });
    // Nothing on the phone is wider than the screen.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
  });

  it('shows a failed fetch (the network failing) and recovers on the next refresh', async () => {
    await page.route('**/health/services', (route) => route.abort('connectionrefused'));
    await page.goto(`${gateway.url}/dashboard/`);
    await signIn(page, E2E_ADMIN_TOKEN);
    expect(await page.textContent('#refresh-status')).toContain('health: the gateway could not be reached');
    expect(await page.textContent('[data-figure="services"]')).toContain('unavailable');
    const before = await page.textContent('#refresh-status');
    await page.unroute('**/health/services');
    await page.click('#refresh-now');
    await expect.poll(() => page.textContent('#refresh-status')).not.toBe(before);
    expect(await page.textContent('#refresh-status')).not.toContain('health: the gateway could not be reached');
  });

  it('can be used with the keyboard alone: skip link, sign-in, range, refresh, sign-out', async () => {
    await page.goto(`${gateway.url}/dashboard/`);
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    await page.keyboard.type(E2E_ADMIN_TOKEN); // the token field has the focus
    await page.keyboard.press('Enter');
    await page.locator('#main').waitFor({ state: 'visible' });

    const focusOrder: string[] = [];
    await page.evaluate('document.activeElement?.blur()');
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      focusOrder.push(await page.evaluate<string>("document.activeElement?.id || document.activeElement?.className || ''"));
    }
    expect(focusOrder).toEqual(['skip-link', 'range', 'refresh-now', 'sign-out']);
    // The focused control is visibly outlined.
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');

    await page.focus('#range');
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => page.inputValue('#range')).toBe('60m');
    await expect.poll(() => requests.some((request) => request.url.includes('range=60m'))).toBe(true);

    await page.focus('#sign-out');
    await page.keyboard.press('Enter');
    await page.locator('#sign-in').waitFor({ state: 'visible' });
  });
});

