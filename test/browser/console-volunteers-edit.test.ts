/**
 * Issue 14 items 1, 4, 5, 6 in real Chromium (dev mailbox): edit and delete volunteers (one, many,
 * a certificate holder with the keep/revoke choice), import a GBK CSV through the preview with
 * column mapping, search by a name / number / domain substring, and the Send page's bars, banner
 * and per-minute counts with the campaign list's claimed count. Screenshots at 360 and 1366 px,
 * zh and en; axe-core on each changed page.
 */
import iconv from 'iconv-lite';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, shotBoth } from './axe.js';
import { launchBrowser, type Browser } from './browser.js';
import { ADMIN_TOKEN, admin, startWebApp, volunteersWithLinks, type WebApp } from './fixtures.js';

describe('console: edit, delete, import preview, search, progress (Chromium)', { timeout: 180_000 }, () => {
  let app: WebApp;
  let browser: Browser;
  let page: Page;
  let campaignId: number;
  const pageErrors: string[] = [];
  const row = (email: string) => page.getByTestId('recipient-row').filter({ hasText: email });
  const setLang = async (lang: 'zh' | 'en') => {
    const zh = (await page.locator('html').getAttribute('lang')) === 'zh-CN';
    if ((lang === 'zh') !== zh) await page.getByTestId('lang').click();
    await expect.poll(() => page.locator('html').getAttribute('lang')).toBe(lang === 'zh' ? 'zh-CN' : 'en');
  };

  beforeAll(async () => {
    [app, browser] = await Promise.all([startWebApp(), launchBrowser({ locale: 'en-US' })]);
    page = await browser.newPage({ width: 1366, height: 860 });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('dialog', (d) => void d.accept());
    const links = await volunteersWithLinks(app.url, ['holder@example.org', 'plain@example.org', 'typo@exmaple.org']);
    const campaigns = await admin<{ campaigns: { id: number; name: string }[] }>(app.url, 'GET', 'campaigns?archived=false');
    campaignId = campaigns.campaigns.find((c) => c.name === 'Claim page test')!.id;
    const items = (await admin<{ items: { id: number; email: string }[] }>(app.url, 'GET', `campaigns/${campaignId}/recipients`)).items;
    const numbers: Record<string, [string, string]> = {
      'holder@example.org': ['WH2026-001', '王芳'],
      'plain@example.org': ['WH2026-005', 'Li Wei'],
      'typo@exmaple.org': ['WH2026-009', 'Zhao'],
    };
    for (const r of items)
      await admin(app.url, 'PATCH', `campaigns/${campaignId}/recipients/${r.id}`, {
        number: numbers[r.email][0],
        name: numbers[r.email][1],
      });
    const claim = await fetch(`${app.url}/api/v2/certificates/claim`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: links['holder@example.org'], name: '王芳' }),
    });
    expect(claim.status).toBe(200);
    await page.goto(`${app.url}/admin`);
    await page.evaluate((t) => sessionStorage.setItem('vh.admin.token', t), ADMIN_TOKEN);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('item 5: searches a name, a number and a domain substring', async () => {
    await page.goto(`${app.url}/admin/campaigns/${campaignId}/volunteers`);
    await page.getByTestId('recipient-row').first().waitFor();
    for (const [q, email] of [
      ['王芳', 'holder@example.org'],
      ['WH2026-005', 'plain@example.org'],
      ['exmaple.org', 'typo@exmaple.org'],
    ] as const) {
      await page.getByTestId('search').fill(q);
      await expect
        .poll(async () => (await page.getByTestId('recipient-row').allInnerTexts()).map((t) => t.includes(email)))
        .toEqual([true]);
    }
    await shotBoth(page, 'console-search-en');
    await page.getByTestId('search').fill('');
    await expect.poll(() => page.getByTestId('recipient-row').count()).toBe(3);
  });

  it('item 1: edits a mistyped email with a notice, and deletes a certificate holder only after the keep/revoke choice', async () => {
    await row('typo@exmaple.org').getByTestId('edit').click();
    await page.getByTestId('edit-email').fill('zhao@example.org');
    await page.getByTestId('edit-notify').check();
    await expectAccessible(page, 'volunteers: edit form');
    await shotBoth(page, 'console-edit-en');
    await page.getByTestId('edit-save').click();
    await expect.poll(() => page.getByTestId('row-notice').innerText()).toContain('a notice went to zhao@example.org');
    await row('zhao@example.org').waitFor();
    // A taken email: the error is shown in the form, nothing changes.
    await row('zhao@example.org').getByTestId('edit').click();
    await page.getByTestId('edit-email').fill('plain@example.org');
    await page.getByTestId('edit-save').click();
    await expect.poll(() => page.getByTestId('edit-form').innerText()).toContain('already a volunteer');
    await page.getByTestId('edit-form').getByRole('button', { name: 'Cancel' }).click();

    // Deleting the certificate holder asks first: keep the certificate verifiable.
    const certId = (
      await admin<{ items: { email: string; certificateId: string }[] }>(app.url, 'GET', `campaigns/${campaignId}/recipients?q=holder`)
    ).items[0].certificateId;
    await row('holder@example.org').getByTestId('delete').click();
    await page.getByTestId('delete-cert-choice').waitFor();
    await expectAccessible(page, 'volunteers: delete a certificate holder');
    await shotBoth(page, 'console-delete-holder-en');
    await setLang('zh');
    await expectAccessible(page, 'volunteers: delete a certificate holder (zh)');
    await shotBoth(page, 'console-delete-holder-zh');
    await page.getByTestId('cert-keep').check();
    await page.getByTestId('delete-go').click();
    await expect.poll(() => page.getByTestId('row-notice').innerText()).toContain('已删除 1 名志愿者');
    expect((await fetch(`${app.url}/verify/${certId}`)).status).toBe(200);
    await setLang('en');

    // Many at once: select the page, delete.
    await page.getByTestId('select-page').check();
    await expect.poll(() => page.getByTestId('delete-selected').innerText()).toBe('Delete selected (2)');
    await page.getByTestId('delete-selected').click();
    expect(await page.getByTestId('delete-cert-choice').count()).toBe(0);
    await page.getByTestId('delete-go').click();
    await expect.poll(() => page.getByTestId('total').innerText()).toContain('0 volunteers');
  });

  it('item 4: imports a GBK CSV through the preview with column mapping', async () => {
    const gbk = iconv.encode(
      '姓名;邮箱;证书编号;角色\r\n王芳;wang@example.org;WH2026-101;组长\r\n李伟;li@example.org;WH2026-102;队员\r\n坏行;not-an-email;WH2026-103;\r\n',
      'gbk',
    );
    await page.getByTestId('import-file').setInputFiles({ name: 'excel-china.csv', mimeType: 'text/csv', buffer: gbk });
    await page.getByTestId('import-preview').waitFor();
    expect(await page.getByTestId('import-detected').innerText()).toMatch(/encoding gb18030 · separator ;/);
    expect(await page.getByTestId('import-mapping').innerText()).toContain('王芳');
    expect(await page.getByTestId('will-add').innerText()).toBe('2 will be added');
    expect(await page.getByTestId('import-problems').innerText()).toContain('not a valid email address');
    // The role column: ignore it rather than keep it as a custom field.
    await page.getByTestId('role-3').selectOption('ignore');
    await expect.poll(() => page.getByTestId('will-add').innerText()).toBe('2 will be added');
    await expectAccessible(page, 'volunteers: import preview');
    await shotBoth(page, 'console-import-preview-en');
    await setLang('zh');
    await expectAccessible(page, 'volunteers: import preview (zh)');
    await shotBoth(page, 'console-import-preview-zh');
    await setLang('en');
    await page.getByTestId('import-file-go').click();
    await expect.poll(() => page.getByTestId('added').innerText()).toBe('2 added');
    await expect.poll(() => page.getByTestId('recipient-row').count()).toBe(2);
    expect(await row('wang@example.org').innerText()).toContain('王芳');
  });

  it('item 6: the Send page bars never shrink, the queued banner clears, counts per minute; the list shows claimed', async () => {
    await page.goto(`${app.url}/admin/campaigns/${campaignId}/send`);
    await page.getByTestId('send-start').click();
    await page.getByTestId('send-confirm-yes').click();
    await page.getByTestId('queued').waitFor();
    await expect.poll(() => page.getByTestId('bar-notified').innerText(), { timeout: 30_000 }).toBe('2');
    await expect.poll(() => page.getByTestId('queued').count(), { timeout: 30_000 }).toBe(0);
    // One claims: "notified" stays 2 while "claimed" becomes 1.
    const w = (await admin<{ items: { id: number }[] }>(app.url, 'GET', `campaigns/${campaignId}/recipients?q=wang`)).items[0];
    await admin(app.url, 'POST', `campaigns/${campaignId}/recipients/${w.id}/new-link`, {});
    const mails = (await (await fetch(`${app.url}/api/v2/dev/mail`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
      items: { id: number; to: string }[];
    };
    const id = mails.items.find((m) => m.to.includes('wang@example.org'))!.id;
    const { tokenFromMail } = await import('./fixtures.js');
    const token = await tokenFromMail(app.url, id);
    await fetch(`${app.url}/api/v2/certificates/claim`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, name: '王芳' }),
    });
    await expect.poll(() => page.getByTestId('bar-claimed').innerText(), { timeout: 30_000 }).toBe('1');
    expect(await page.getByTestId('bar-notified').innerText()).toBe('2');
    await page.getByTestId('over-time').waitFor();
    await expectAccessible(page, 'send page');
    await shotBoth(page, 'console-send-progress-en');
    await setLang('zh');
    await shotBoth(page, 'console-send-progress-zh');
    await page.goto(`${app.url}/admin`);
    await page.getByTestId('campaign-item').first().waitFor();
    const item = page.getByTestId('campaign-item').filter({ hasText: 'Claim page test' });
    await expect.poll(() => item.getByTestId('campaign-claimed').innerText()).toBe('已领取 1');
    await expectAccessible(page, 'campaign list (zh)');
    await shotBoth(page, 'console-campaigns-zh');
    await setLang('en');
    await expect.poll(() => item.getByTestId('campaign-claimed').innerText()).toBe('1 claimed');
    await shotBoth(page, 'console-campaigns-en');
    expect(pageErrors).toEqual([]);
  });
});
