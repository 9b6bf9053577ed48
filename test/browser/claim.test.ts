/**
 * The volunteer's whole job on the claim page, in real Chromium against the real app: a phone
 * (360x740) in Chinese, the live preview, refused names with reasons, a network failure and a
 * retry that keeps the typed name, success and download, already claimed, unknown and missing
 * links, and the page's size budget.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type Browser } from './browser.js';
import { sha256, startWebApp, volunteersWithLinks, type WebApp } from './fixtures.js';
import { WEB_OUT } from './web-build.js';

const PHONE = { width: 360, height: 740 };

describe('volunteer claim page (Chromium)', { timeout: 120_000 }, () => {
  let app: WebApp;
  let browser: Browser;
  let tokens: Record<string, string>;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startWebApp(), launchBrowser({ locale: 'zh-CN' })]);
    tokens = await volunteersWithLinks(app.url, ['li.ming@example.org', 'ann@example.org', 'refuse@example.org']);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  /** The bytes of the preview the page shows now (read from its blob: URL). */
  const previewHash = async (page: Page) => {
    const bytes = await page.getByTestId('preview-image').evaluate(async (img: HTMLImageElement) => {
      const buf = await (await fetch(img.src)).arrayBuffer();
      return Array.from(new Uint8Array(buf));
    });
    return sha256(Uint8Array.from(bytes));
  };

  /** Switches the page to a language with its own button (the choice is remembered across tests). */
  const useLang = async (page: Page, lang: 'en' | 'zh') => {
    const want = lang === 'en' ? 'en' : 'zh-CN';
    if ((await page.locator('html').getAttribute('lang')) !== want) await page.locator('[data-action="lang"]').click();
    await expect.poll(() => page.locator('html').getAttribute('lang')).toBe(want);
  };

  it('stays under its 60 KB gzipped budget', () => {
    const sizes = JSON.parse(readFileSync(join(WEB_OUT, 'sizes.json'), 'utf8')) as Record<
      string,
      { total: number; js: number; css: number }
    >;
    const s = sizes.certificate;
    console.log(
      `claim page: ${(s.total / 1024).toFixed(1)} KB gzipped (JS ${(s.js / 1024).toFixed(1)} KB, CSS ${(s.css / 1024).toFixed(1)} KB)`,
    );
    expect(s.total).toBeGreaterThan(1000);
    expect(s.total).toBeLessThan(60 * 1024);
  });

  it('on a phone in Chinese: shows the email read-only, previews the name as typed, and issues the certificate', async () => {
    const page = await browser.newPage(PHONE);
    await page.goto(`${app.url}/certificate?token=${encodeURIComponent(tokens['li.ming@example.org'])}`);
    await page.getByTestId('screen-form').waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
    await expect.poll(() => page.getByText('证书上的姓名', { exact: true }).count()).toBe(1);
    const email = page.getByTestId('email');
    expect(await email.inputValue()).toBe('li.ming@example.org');
    expect(await email.getAttribute('readonly')).not.toBeNull();
    // Nothing wider than the phone.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);

    await page.getByTestId('name').fill('李明');
    await page.waitForResponse((r) => r.url().endsWith('/claim/preview') && r.status() === 200);
    await page.locator('#preview[data-state="idle"] img').waitFor();
    const before = await previewHash(page);
    await screenshot(page, 'claim-form-phone-zh');

    const previewed = page.waitForResponse((r) => r.url().endsWith('/claim/preview') && r.status() === 200);
    await page.getByTestId('name').fill('欧阳明月');
    await previewed;
    await page.locator('#preview[data-state="idle"] img').waitFor();
    expect(await previewHash(page)).not.toBe(before);

    await page.getByTestId('submit').click();
    await page.getByTestId('screen-success').waitFor();
    const dl = await page.getByTestId('download').evaluate(async (a: HTMLAnchorElement) => {
      const r = await fetch(a.href);
      return { status: r.status, type: r.headers.get('content-type'), size: (await r.arrayBuffer()).byteLength };
    });
    expect(dl).toMatchObject({ status: 200, type: expect.stringMatching(/image\/png|application\/pdf/) });
    expect(dl.size).toBeGreaterThan(1000);
    await page.getByTestId('certificate-image').waitFor();
    await screenshot(page, 'claim-success-phone-zh');

    // Opening the link again: already claimed, download offered again.
    await page.reload();
    await page.getByTestId('screen-claimed').waitFor();
    expect(await page.getByTestId('screen-claimed').innerText()).toContain('欧阳明月');
    expect(await page.getByTestId('download').getAttribute('href')).toContain('/claim/download?token=');
    await screenshot(page, 'claim-already-claimed-phone-zh');
    await page.close();
  });

  it('switches to English and explains refused names inline: characters the font lacks, too long', async () => {
    const page = await browser.newPage(PHONE);
    await page.goto(`${app.url}/certificate?token=${encodeURIComponent(tokens['refuse@example.org'])}`);
    await page.getByTestId('screen-form').waitFor();
    // No name imported: an empty box, no error yet (the first preview check has run), until submitted empty.
    await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
    expect(await page.getByTestId('name').inputValue()).toBe('');
    expect(await page.getByTestId('refusal').count()).toBe(0);
    await page.getByTestId('submit').click();
    expect(await page.getByTestId('refusal').getAttribute('data-reason')).toBe('empty');
    // The page followed the browser (Chinese); its switch turns it to English.
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
    await page.locator('[data-action="lang"]').click();
    await page.getByText('Name on the certificate').waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('en');

    const refused = page.waitForResponse((r) => r.url().endsWith('/claim/preview') && r.status() === 422);
    await page.getByTestId('name').fill('Ann 𓀀𓀁');
    await refused;
    const refusal = page.getByTestId('refusal');
    await refusal.waitFor();
    expect(await refusal.getAttribute('data-reason')).toBe('unsupported_chars');
    expect(await refusal.innerText()).toContain('cannot print');
    const chars = await page.getByTestId('refused-chars').locator('code').allInnerTexts();
    expect(chars.join(' ')).toContain('𓀀');
    expect(chars.join(' ')).toContain('U+13000');
    expect(await page.getByTestId('submit').isDisabled()).toBe(true);
    await screenshot(page, 'claim-name-refused-phone-en');

    await page.getByTestId('name').fill('A'.repeat(101));
    await expect.poll(() => refusal.getAttribute('data-reason')).toBe('too_long');
    expect(await refusal.innerText()).toContain('at most 100');

    // Edited back to a good name: the refusal goes and the button comes back.
    await page.getByTestId('name').fill('Ann Lee');
    await expect.poll(() => page.getByTestId('refusal').count()).toBe(0);
    expect(await page.getByTestId('submit').isDisabled()).toBe(false);

    // Submitted before the preview could object (Enter): the server refuses, on a screen of its own.
    await page.getByTestId('name').fill('Ann 𓀀');
    await page.getByTestId('name').press('Enter');
    await page.getByTestId('screen-refused').waitFor();
    expect(await page.getByTestId('refusal').getAttribute('data-reason')).toBe('unsupported_chars');
    await screenshot(page, 'claim-refused-on-submit-phone-en');
    await page.getByTestId('edit-name').click();
    expect(await page.getByTestId('name').inputValue()).toBe('Ann 𓀀');
    await page.close();
  });

  it('shows the small preview (issue 15) across the column on a phone and at most at its own pixel width on a desktop', async () => {
    const sizes: Record<string, { natural: [number, number]; shown: number }> = {};
    for (const [label, view] of [
      ['phone', PHONE],
      ['desktop', { width: 1366, height: 900 }],
    ] as const) {
      const page = await browser.newPage(view);
      await page.goto(`${app.url}/certificate?token=${encodeURIComponent(tokens['refuse@example.org'])}`);
      await page.getByTestId('screen-form').waitFor();
      const previewed = page.waitForResponse((r) => r.url().endsWith('/claim/preview') && r.status() === 200);
      await page.getByTestId('name').fill(`Ann Lee ${label}`);
      await previewed;
      await page.locator('#preview[data-state="idle"] img').waitFor();
      const img = page.getByTestId('preview-image');
      await expect.poll(() => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBeGreaterThan(0);
      const box = await page.getByTestId('preview').evaluate((el) => el.clientWidth);
      const got = await img.evaluate((i: HTMLImageElement) => ({
        natural: [i.naturalWidth, i.naturalHeight] as [number, number],
        shown: i.clientWidth,
      }));
      sizes[label] = got;
      if (label === 'phone') expect(got.shown).toBe(box);
      await page.close();
    }
    // The fixture's 800x566 template at CLAIM_PREVIEW's pixels: 566x400.
    expect(sizes.phone!.natural).toEqual([566, 400]);
    // A desktop shows it at its own width (not enlarged into a blur).
    expect(sizes.desktop!.shown).toBe(sizes.desktop!.natural[0]);
  });

  it('on a network failure shows its own screen, and retry submits what was typed', async () => {
    const page = await browser.newPage(PHONE);
    await page.goto(`${app.url}/certificate?token=${encodeURIComponent(tokens['ann@example.org'])}`);
    await page.getByTestId('screen-form').waitFor();
    await useLang(page, 'en');
    await page.getByTestId('name').fill('Ann Marie Lee');
    // The submit request dies on the way; previews still work.
    await page.route('**/api/v2/certificates/claim', (route) =>
      route.request().method() === 'POST' ? route.abort('internetdisconnected') : route.continue(),
    );
    await page.getByTestId('submit').click();
    await page.getByTestId('screen-failure-network').waitFor();
    expect(await page.getByTestId('kept-name').innerText()).toContain('Ann Marie Lee');
    await screenshot(page, 'claim-network-failure-phone-en');

    await page.unroute('**/api/v2/certificates/claim');

    // The server fails instead: its own screen, and again nothing typed is lost.
    await page.route('**/api/v2/certificates/claim', (route) =>
      route.request().method() === 'POST'
        ? route.fulfill({ status: 500, contentType: 'application/json', body: '{"code":"internal","message":"internal error"}' })
        : route.continue(),
    );
    await page.getByTestId('retry').click();
    await page.getByTestId('screen-failure-server').waitFor();
    await page.unroute('**/api/v2/certificates/claim');
    const submitted = page.waitForRequest((r) => r.url().endsWith('/api/v2/certificates/claim') && r.method() === 'POST');
    await page.getByTestId('retry').click();
    expect((await submitted).postDataJSON()).toMatchObject({ name: 'Ann Marie Lee' });
    await page.getByTestId('screen-success').waitFor();
    expect(await page.getByTestId('screen-success').innerText()).toContain('ann@example.org');
    await page.close();
  });

  it('never stays blank when the server fails to open the link: its own screen, then retry', async () => {
    const page = await browser.newPage(PHONE);
    let failing = true;
    await page.route('**/api/v2/certificates/claim?*', (route) =>
      failing ? route.fulfill({ status: 503, contentType: 'text/html', body: '<html>Bad gateway</html>' }) : route.continue(),
    );
    await page.goto(`${app.url}/certificate?token=${encodeURIComponent(tokens['li.ming@example.org'])}`);
    await page.getByTestId('screen-failure-server').waitFor();
    failing = false;
    await page.getByTestId('retry').click();
    // That volunteer has claimed already (first test): the page says so and offers the file again.
    await page.getByTestId('screen-claimed').waitFor();
    await page.close();
  });

  it('says so, in both languages, when its script never arrives (a bad mobile network)', async () => {
    const page = await browser.newPage(PHONE);
    await page.clock.install();
    await page.route('**/web/assets/*.js', (route) => route.abort('timedout'));
    await page.goto(`${app.url}/certificate?token=${encodeURIComponent(tokens['ann@example.org'])}`);
    await page.clock.fastForward(16_000);
    const notice = page.getByTestId('boot-slow');
    await notice.waitFor();
    expect(await notice.innerText()).toMatch(/重新加载[\s\S]*reload/i);
    await page.close();
  });

  it('says so when the link is unknown or incomplete', async () => {
    const page = await browser.newPage(PHONE);
    await page.goto(`${app.url}/certificate?token=${'x'.repeat(43)}`);
    await page.getByTestId('screen-unknown').waitFor();
    await useLang(page, 'zh');
    expect(await page.getByTestId('screen-unknown').innerText()).toContain('链接无效');
    await screenshot(page, 'claim-unknown-link-phone-zh');
    await page.goto(`${app.url}/certificate`);
    await page.getByTestId('screen-missing').waitFor();
    expect(await page.getByTestId('screen-missing').innerText()).toContain('链接不完整');
    await page.close();
  });
});
