/**
 * Issue 17 / issue 14 item 2 in the console (Chromium): the Sender saved on Mail settings is what
 * the header preview shows (over the service's own mail setup, no campaign SMTP server), with
 * Reply-To and one-click unsubscribe; a DKIM key generated on the page shows the TXT record to
 * publish and the preview then says "signed". Screenshots at 360 and 1366 px, zh and en; axe.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type Browser } from './browser.js';
import { expectAccessible, shotBoth } from './axe.js';
import { ADMIN_TOKEN, admin, startWebApp, type WebApp } from './fixtures.js';

describe('console: sender and deliverability (Chromium)', { timeout: 180_000 }, () => {
  let app: WebApp;
  let browser: Browser;
  beforeAll(async () => {
    [app, browser] = await Promise.all([startWebApp(), launchBrowser({ locale: 'en-US' })]);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  async function open(lang: 'en' | 'zh', id: number): Promise<Page> {
    const page = await browser.newPage({ width: 1366, height: 860 });
    await page.goto(`${app.url}/admin`);
    await page.evaluate((t) => sessionStorage.setItem('vh.admin.token', t), ADMIN_TOKEN);
    await page.goto(`${app.url}/admin/campaigns/${id}/mail`);
    await page.getByTestId('deliverability').waitFor();
    if (lang === 'zh') {
      await page.getByTestId('lang').click();
      await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('zh-CN');
    }
    return page;
  }

  it('saves the sender, shows the exact headers, generates DKIM and shows the record to publish', async () => {
    const c = await admin<{ id: number }>(app.url, 'POST', 'campaigns', { name: 'Spring clean-up' });
    const page = await open('en', c.id);
    await page.getByTestId('smtp-from').fill('Green River <notices@greenriver.example>');
    await page.getByTestId('save-mail').click();
    await page.getByTestId('mail-saved').waitFor();
    await page.getByTestId('reply-to').fill('organizer@greenriver.example');
    await page.getByTestId('save-sender').click();
    await expect
      .poll(async () => (await admin<any>(app.url, 'GET', `campaigns/${c.id}`)).mail.replyTo)
      .toBe('organizer@greenriver.example');

    await page.getByTestId('show-headers').click();
    const headers = page.getByTestId('headers');
    await headers.waitFor();
    const text = await headers.innerText();
    expect(text).toMatch(/^From: Green River <notices@greenriver\.example>$/m);
    expect(text).toMatch(/^Reply-To: organizer@greenriver\.example$/m);
    expect(text).toMatch(/^List-Unsubscribe: <http[^>]+\/unsubscribe\/0\.[A-Za-z0-9_-]{43}>, <mailto:/m);
    expect(text).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
    expect(await page.getByTestId('dkim-state').innerText()).toMatch(/not signed/);

    expect(await page.getByTestId('dkim-domain').inputValue()).toBe('greenriver.example');
    await page.getByTestId('dkim-save').click();
    await expect
      .poll(async () => page.getByTestId('dkim-keys').innerText())
      .toMatch(/_domainkey\.greenriver\.example\s+TXT\s+"v=DKIM1; k=rsa; p=/);
    await page.getByTestId('show-headers').click();
    await expect.poll(async () => page.getByTestId('dkim-state').innerText()).toMatch(/signed as greenriver\.example/);
    expect(await headers.innerText()).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256;.*d=greenriver\.example/m);
    await expectAccessible(page, 'mail settings (en)');
    await shotBoth(page, 'deliverability-en');
    await page.close();

    const zh = await open('zh', c.id);
    await zh.getByTestId('show-headers').click();
    await zh.getByTestId('headers').waitFor();
    expect(await zh.getByTestId('deliverability').innerText()).toContain('发件人与送达');
    await expectAccessible(zh, 'mail settings (zh)');
    await shotBoth(zh, 'deliverability-zh');
    await zh.close();
  });
});
