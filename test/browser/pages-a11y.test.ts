/**
 * Issue 14: the first minute (item 7) and WCAG AA on every page, in real Chromium on the real
 * app. `/` points to every page (zh and en); each console page has a title of its own; axe-core
 * finds no serious or critical violation on the home page, every console page (sign-in, the
 * campaign list, each campaign tab, a volunteer whose certificate was mailed) and the dev mailbox
 * (list and an open message). The claim, member and assistant pages are checked in their own
 * files (claim-snags, accounts-snags, assistant-snags). Screenshots at 360 and 1366 px.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type Browser } from './browser.js';
import { ADMIN_TOKEN, admin, startWebApp, templatePng, tokenFromMail, waitForMail, type WebApp } from './fixtures.js';
import { expectAccessible, shotBoth } from './axe.js';

describe('home page, console and dev mailbox: titles and accessibility (Chromium)', { timeout: 240_000 }, () => {
  let app: WebApp;
  let browser: Browser;
  let page: Page;
  let campaignId = 0;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startWebApp(), launchBrowser({ locale: 'en-US' })]);
    page = await browser.newPage({ width: 1366, height: 860 });
    // A campaign with a template, two volunteers, one of whom claimed and was mailed (status 4).
    const c = await admin<{ id: number }>(app.url, 'POST', 'campaigns', { name: 'Spring river clean-up' });
    campaignId = c.id;
    const form = new FormData();
    form.append('template', new Blob([new Uint8Array(templatePng())], { type: 'image/png' }), 'template.png');
    await admin(app.url, 'PUT', `campaigns/${c.id}/template`, form);
    await admin(app.url, 'POST', `campaigns/${c.id}/recipients`, { lines: ['mei@example.org,WH-1', 'tom@example.org,WH-2'] });
    await admin(app.url, 'POST', `campaigns/${c.id}/send`, {});
    const [notice] = await waitForMail(app.url, (m) => m.to.includes('mei@example.org'));
    const token = await tokenFromMail(app.url, notice.id);
    const claim = await fetch(`${app.url}/api/v2/certificates/claim`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, name: 'Mei Chen' }),
    });
    expect(claim.status).toBe(200);
    await waitForMail(app.url, (m) => m.to.includes('mei@example.org'), 2);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('/ is a page pointing to the console, the member and assistant pages and the API docs, in English and Chinese', async () => {
    await page.goto(`${app.url}/`);
    await page.getByTestId('home-admin').waitFor();
    for (const [id, href] of [
      ['home-admin', '/admin'],
      ['home-accounts', '/accounts'],
      ['home-assistant', '/assistant'],
      ['home-docs', '/docs'],
    ] as const) {
      expect(await page.getByTestId(id).getAttribute('href')).toBe(href);
    }
    // No SMTP configured here: the dev mailbox is listed too.
    await page.getByTestId('home-devmail').waitFor();
    expect(await page.locator('h1').count()).toBe(1);
    expect(await page.getByTestId('home-admin').innerText()).toContain('Organizer console');
    await expectAccessible(page, 'home (en)');
    await shotBoth(page, 'home-en');
    await page.locator('[data-action="lang"]').click();
    await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('zh-CN');
    expect(await page.getByTestId('home-admin').innerText()).toContain('证书管理台');
    await expectAccessible(page, 'home (zh)');
    await shotBoth(page, 'home-zh');
    // The links lead where they say.
    await page.getByTestId('home-docs').click();
    await page.waitForURL(/\/docs/);
    await page.goto(`${app.url}/`);
    await page.locator('[data-action="lang"]').click();
    await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('en');
  });

  it('gives every console page its own title and no serious accessibility violation', async () => {
    await page.goto(`${app.url}/admin`);
    await page.getByTestId('signin').waitFor();
    const titles: string[] = [await page.title()];
    await expectAccessible(page, 'console sign-in');
    await shotBoth(page, 'console-signin-en');
    await page.getByTestId('token').fill(ADMIN_TOKEN);
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('campaign-list').waitFor();
    titles.push(await page.title());
    await expectAccessible(page, 'console campaigns');
    await shotBoth(page, 'console-campaigns-en');
    for (const tab of ['template', 'volunteers', 'send', 'mail', 'emails', 'settings']) {
      await page.goto(`${app.url}/admin/campaigns/${campaignId}/${tab}`);
      await page.locator('.tab.router-link-active').waitFor();
      // Loaded: the campaign's page has drawn its first card (the send page keeps a stream open,
      // so there is no "network idle" to wait for).
      await page.locator('main .card').first().waitFor();
      await page.waitForTimeout(400);
      await expect.poll(() => page.title()).not.toBe(titles[titles.length - 1]);
      titles.push(await page.title());
      await expectAccessible(page, `console ${tab}`);
      if (tab === 'volunteers') {
        // The "Certificate mailed" chip of the volunteer who claimed.
        await page.getByText('Mei Chen').first().waitFor();
        await expectAccessible(page, 'console volunteers with a mailed certificate');
      }
      await shotBoth(page, `console-${tab}-en`);
    }
    expect(new Set(titles).size, titles.join(' | ')).toBe(titles.length);
    expect(titles.every((t) => t.endsWith('Certificates console'))).toBe(true);
    // In Chinese too: the titles follow the language.
    await page.goto(`${app.url}/admin/campaigns/${campaignId}/volunteers`);
    await page.getByTestId('lang').click();
    await expect.poll(() => page.title()).toBe('志愿者 · 证书管理台');
    await expectAccessible(page, 'console volunteers (zh)');
    await shotBoth(page, 'console-volunteers-zh');
    await page.getByTestId('lang').click();
  });

  it('the dev mailbox (list and a message) has no serious accessibility violation', async () => {
    await page.goto(`${app.url}/dev/mail`);
    await page.getByTestId('mail-item').first().waitFor();
    await expectAccessible(page, 'dev mailbox list');
    await page.getByTestId('mail-item').first().click();
    await page.waitForURL(/\/dev\/mail\/\d+/);
    await page.waitForLoadState('networkidle');
    await expectAccessible(page, 'dev mailbox message');
    await shotBoth(page, 'devmail-message-en');
  });
});
