/**
 * The console at volume and pace, in real Chromium against the real app (dev mailbox): paging
 * through 120 and 100,000 volunteers (the last page, pages by cursor and by number, search,
 * status filter), pausing and resuming a paced send, a daily quota that pauses sending, and
 * renaming a campaign.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type Browser } from './browser.js';
import { ADMIN_TOKEN, admin, startWebApp, type WebApp } from './fixtures.js';
import { searchIndexerFor } from '../../src/modules/certificates/search-indexer.js';

// Generous waits: the machine is shared (2 cores) and other suites may run alongside.
describe('console at volume: paging, pacing, quota (Chromium)', { timeout: 120_000 }, () => {
  let app: WebApp;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    [app, browser] = await Promise.all([startWebApp(), launchBrowser({ locale: 'en-US' })]);
    page = await browser.newPage({ width: 1280, height: 900 });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${app.url}/admin`);
    await page.evaluate((t) => sessionStorage.setItem('vh.admin.token', t), ADMIN_TOKEN);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('pages through many volunteers, and pauses and resumes a paced send', async () => {
    const big = await admin<{ id: number }>(app.url, 'POST', 'campaigns', { name: 'Paging and pacing' });
    await admin(app.url, 'PATCH', `campaigns/${big.id}`, { mail: { ratePerSec: 1 } });
    const lines = Array.from({ length: 120 }, (_, i) => `v${String(i).padStart(3, '0')}@example.org,NO-${i}`);
    expect((await admin(app.url, 'POST', `campaigns/${big.id}/recipients`, { lines })).added).toBe(120);

    await page.goto(`${app.url}/admin/campaigns/${big.id}/volunteers`);
    await expect.poll(() => page.getByTestId('page').innerText()).toBe('Page 1 of 3');
    expect(await page.getByTestId('total').innerText()).toContain('120');
    expect(await page.getByTestId('recipient-row').count()).toBe(50);
    const first = await page.getByTestId('recipient-row').first().innerText();
    await page.getByTestId('next').click();
    await expect.poll(() => page.getByTestId('page').innerText()).toBe('Page 2 of 3');
    await expect.poll(async () => (await page.getByTestId('recipient-row').first().innerText()) !== first).toBe(true);

    await page.getByTestId('tab-send').click();
    await page.getByTestId('send-start').click();
    expect(await page.getByTestId('send-confirm').innerText()).toContain('Send 120 notices?');
    await page.getByTestId('send-confirm-yes').click();
    await expect.poll(() => page.getByTestId('sending-state').innerText(), { timeout: 30_000 }).toBe('Sending');
    await page.getByTestId('pause').click();
    await expect.poll(() => page.getByTestId('sending-state').innerText()).toBe('Paused');
    // Paused: resume is offered, not a second send.
    expect(await page.getByTestId('send-start').count()).toBe(0);
    await screenshot(page, 'console-send-paused');
    await page.getByTestId('resume').click();
    await expect.poll(() => page.getByTestId('sending-state').innerText()).toBe('Sending');
    await page.getByTestId('pause').click();
    await expect.poll(() => page.getByTestId('sending-state').innerText()).toBe('Paused');
  });

  it('shows when the daily quota pauses sending, and renames a campaign', async () => {
    const q = await admin<{ id: number }>(app.url, 'POST', 'campaigns', { name: 'Quota' });
    await admin(app.url, 'PATCH', `campaigns/${q.id}`, { mail: { dailyLimit: 1 } });
    await admin(app.url, 'POST', `campaigns/${q.id}/recipients`, { lines: ['q1@example.org', 'q2@example.org'] });
    await page.goto(`${app.url}/admin/campaigns/${q.id}/send`);
    await page.getByTestId('send-start').click();
    await page.getByTestId('send-confirm-yes').click();
    await page.getByTestId('quota-paused').waitFor();
    expect(await page.getByTestId('quota-paused').innerText()).toContain('resumes by itself');
    expect(await page.getByTestId('quota').innerText()).toContain('1 of 1');
    await screenshot(page, 'console-quota-paused');

    await page.getByTestId('tab-settings').click();
    await page.getByTestId('set-name').fill('');
    expect(await page.getByTestId('save-settings').isDisabled()).toBe(true);
    await page.getByTestId('set-website').fill('not a url');
    expect(await page.getByTestId('field-error').nth(1).innerText()).toContain('http');
    await page.getByTestId('set-website').fill('https://example.org');
    await page.getByTestId('set-name').fill('Quota (renamed)');
    await page.getByTestId('save-settings').click();
    await page.getByTestId('settings-saved').waitFor();
    await expect.poll(() => page.getByTestId('campaign-name').innerText()).toContain('Quota (renamed)');
  });

  it('pages through 100,000 volunteers: the last page, a search and a status filter answer', async () => {
    const big = await admin<{ id: number }>(app.url, 'POST', 'campaigns', { name: 'One hundred thousand' });
    // The search indexer held until the search below: right after a large import a search looks at
    // the newest rows only, and the console says how many it has not searched yet (issue 15).
    const indexer = searchIndexerFor(app.t.core.handle);
    const release = indexer?.hold();
    const lines = Array.from({ length: 100_000 }, (_, i) => `p${String(i).padStart(6, '0')}@example.org,N${i}`);
    expect((await admin(app.url, 'POST', `campaigns/${big.id}/recipients`, { lines })).added).toBe(100_000);
    await page.goto(`${app.url}/admin/campaigns/${big.id}/volunteers`);
    await expect.poll(() => page.getByTestId('page').innerText()).toBe('Page 1 of 2,000');
    expect(await page.getByTestId('total').innerText()).toContain('100,000');
    // The last page read from the end of the index, then back and forth by cursor (issue 15).
    await page.getByTestId('last').click();
    await expect.poll(() => page.getByTestId('page').innerText()).toBe('Page 2,000 of 2,000');
    await expect.poll(() => page.getByTestId('recipient-row').last().innerText()).toContain('p099999@example.org');
    expect(await page.getByTestId('recipient-row').first().innerText()).toContain('p099950@example.org');
    expect(await page.getByTestId('next').isDisabled()).toBe(true);
    await page.getByTestId('prev').click();
    await expect.poll(() => page.getByTestId('page').innerText()).toBe('Page 1,999 of 2,000');
    await expect.poll(() => page.getByTestId('recipient-row').first().innerText()).toContain('p099900@example.org');
    expect(await page.getByTestId('recipient-row').last().innerText()).toContain('p099949@example.org');
    await page.getByTestId('next').click();
    await expect.poll(() => page.getByTestId('recipient-row').first().innerText()).toContain('p099950@example.org');
    expect(await page.getByTestId('page').innerText()).toBe('Page 2,000 of 2,000');
    // A page by its number, and on from there by cursor.
    await page.getByTestId('jump').fill('1000');
    await page.getByTestId('jump').press('Enter');
    await expect.poll(() => page.getByTestId('recipient-row').first().innerText()).toContain('p049950@example.org');
    await page.getByTestId('next').click();
    await expect.poll(() => page.getByTestId('page').innerText()).toBe('Page 1,001 of 2,000');
    await expect.poll(() => page.getByTestId('recipient-row').first().innerText()).toContain('p050000@example.org');
    await page.getByTestId('first').click();
    await expect.poll(() => page.getByTestId('page').innerText()).toBe('Page 1 of 2,000');
    await expect.poll(() => page.getByTestId('recipient-row').first().innerText()).toContain('p000000@example.org');
    expect(await page.getByTestId('prev').isDisabled()).toBe(true);
    if (release) {
      // Not indexed yet: p054321 is not among the newest 20,000, so not found, and the console says why.
      await page.getByTestId('search').fill('p054321@');
      await expect.poll(() => page.getByTestId('indexing-rows').innerText()).toContain('still indexing 80,000 volunteers');
      expect(await page.getByTestId('recipient-row').count()).toBe(0);
      await page.getByTestId('search').fill('p094321@');
      await expect.poll(() => page.getByTestId('recipient-row').count()).toBe(1);
      release();
      await indexer!.drain();
      await page.getByTestId('search').fill('');
      await expect.poll(() => page.getByTestId('recipient-row').count()).toBe(50);
    }
    await page.getByTestId('search').fill('p054321@');
    await expect.poll(() => page.getByTestId('recipient-row').count()).toBe(1);
    expect(await page.getByTestId('page').innerText()).toBe('Page 1 of 1');
    expect(await page.getByTestId('indexing-rows').count()).toBe(0);
    await page.getByTestId('search').fill('');
    await page.getByTestId('status-filter').selectOption('4');
    await expect.poll(() => page.getByTestId('total').innerText()).toContain('0 volunteers');
    await page.getByTestId('recipients').getByText('No volunteers match.').waitFor();
  });

  it('fits the pager on a phone: every paging button inside the screen, the page number on one line', async () => {
    const c = await admin<{ id: number }>(app.url, 'POST', 'campaigns', { name: 'Phone pager' });
    const lines = Array.from({ length: 120 }, (_, i) => `m${String(i).padStart(3, '0')}@example.org`);
    await admin(app.url, 'POST', `campaigns/${c.id}/recipients`, { lines });
    const phone = await browser.newPage({ width: 360, height: 780 });
    phone.on('pageerror', (err) => pageErrors.push(err.message));
    await phone.goto(`${app.url}/admin`);
    await phone.evaluate((tk) => sessionStorage.setItem('vh.admin.token', tk), ADMIN_TOKEN);
    await phone.goto(`${app.url}/admin/campaigns/${c.id}/volunteers`);
    await expect.poll(() => phone.getByTestId('page').innerText()).toBe('Page 1 of 3');
    for (const id of ['first', 'prev', 'next', 'last']) {
      const box = (await phone.getByTestId(id).boundingBox())!;
      expect(box.x, id).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width, id).toBeLessThanOrEqual(360);
    }
    const label = (await phone.getByTestId('page').boundingBox())!;
    expect(label.height).toBeLessThan(30);
    await phone.getByTestId('pager').scrollIntoViewIfNeeded();
    await screenshot(phone, 'console-pager-phone');
    await phone.close();
  });

  it('raised no uncaught error in any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
