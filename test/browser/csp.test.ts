/**
 * Issue 10 item 13 in real Chromium: every page, served with its Content-Security-Policy, still
 * starts (its script runs and draws the page) and Chromium reports no CSP violation (browser.ts
 * collects them for every browser test and fails `close()` on any).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type Browser } from './browser.js';
import { startWebApp, type WebApp } from './fixtures.js';

describe('pages under their CSP (Chromium)', { timeout: 120_000 }, () => {
  let app: WebApp;
  let browser: Browser;
  beforeAll(async () => {
    [app, browser] = await Promise.all([startWebApp(), launchBrowser({ locale: 'en-US' })]);
  });
  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await app?.close();
    }
  });

  // What each page shows once its script ran (the static HTML alone does not have it).
  const pages: Array<[string, string]> = [
    ['/', '#app'],
    ['/certificate?token=nosuchtoken', '#app[data-started], [data-testid="claim-error"], main'],
    ['/admin', 'input[type="password"], main'],
    ['/dev/mail', '[data-testid], main'],
    ['/accounts/login', 'form'],
    ['/assistant/login', 'form'],
    ['/verify/nosuchcertificate', 'main, body'],
    ['/docs', '.swagger-ui .info, .swagger-ui'],
  ];
  for (const [path, selector] of pages) {
    it(`${path} starts with no CSP violation`, async () => {
      const page = await browser.newPage();
      const res = await page.goto(`${app.url}${path}`, { waitUntil: 'networkidle' });
      expect(res?.headers()['content-security-policy']).toBeTruthy();
      await page.waitForSelector(selector, { state: 'attached' });
      expect(browser.cspViolations).toEqual([]);
      await page.close();
    });
  }

  it('a violation would be seen: an inline script injected into a page is refused and reported', async () => {
    const page = await browser.newPage();
    await page.goto(`${app.url}/accounts/login`, { waitUntil: 'networkidle' });
    const { ran, refused } = await page.evaluate(async () => {
      const injected = () => (window as unknown as { __injected?: number }).__injected === 1;
      // The refusal is an event, not a quiet moment: wait for it rather than for a fixed time.
      const violation = new Promise<string>((resolve) =>
        document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective), { once: true }),
      );
      const s = document.createElement('script');
      s.textContent = 'window.__injected = 1';
      // An inserted inline script that is allowed runs during appendChild.
      document.body.appendChild(s);
      if (injected()) return { ran: true, refused: '' };
      const directive = await violation;
      return { ran: injected(), refused: directive };
    });
    expect(ran).toBe(false);
    expect(refused).toMatch(/^script-src/);
    await expect.poll(() => browser.cspViolations.length).toBeGreaterThan(0);
    browser.cspViolations.length = 0; // expected here: keep close() clean
    await page.close();
  });
});
