/**
 * The public credential page /verify/<id> in real Chromium, at 360 px (phone) and 1366 px, in
 * Chinese and English: a valid certificate (image, issuer with logo, name, number, date, custom
 * field, downloads, LinkedIn, copy link, share-card metadata), a revoked one ("revoked on <date>:
 * <reason>", LinkedIn gone), a superseded one linking to its replacement, and an unknown id (a
 * 404 page). The page runs under its strict CSP: the test fails on any CSP violation or page error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, screenshot, type Browser } from './browser.js';
import { admin, startWebApp, templatePng, tokenFromMail, waitForMail, type WebApp } from './fixtures.js';
import { createCanvas } from '@napi-rs/canvas';

function logoPng(): Buffer {
  const c = createCanvas(120, 120);
  const g = c.getContext('2d');
  g.fillStyle = '#0f766e';
  g.beginPath();
  g.arc(60, 60, 56, 0, Math.PI * 2);
  g.fill();
  g.fillStyle = '#ffffff';
  g.font = 'bold 54px sans-serif';
  g.textAlign = 'center';
  g.fillText('RV', 60, 78);
  return c.toBuffer('image/png');
}

describe('credential page (Chromium)', () => {
  let app: WebApp;
  let browser: Browser;
  let zhBrowser: Browser;
  let valid: string;
  let revoked: string;
  let superseded: string;
  let replacement: string;
  const problems: string[] = [];

  const watch = (page: Page) => {
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
  };

  beforeAll(async () => {
    app = await startWebApp();
    const base = app.url;
    const c = await admin<{ id: number }>(base, 'POST', 'campaigns', { name: 'Riverside Cleanup 2026', slug: 'riverside' });
    const form = new FormData();
    form.append('template', new Blob([new Uint8Array(templatePng(1000, 707))], { type: 'image/png' }), 't.png');
    await admin(base, 'PUT', `campaigns/${c.id}/template`, form);
    const logo = new FormData();
    logo.append('logo', new Blob([new Uint8Array(logoPng())], { type: 'image/png' }), 'logo.png');
    await admin(base, 'PUT', `campaigns/${c.id}/logo`, logo);
    await admin(base, 'PATCH', `campaigns/${c.id}`, {
      organization: 'Riverside Volunteers 河畔志愿者协会',
      website: 'https://riverside.example.org',
      layout: { qr: { x: 820, y: 520, size: 140 }, fields: { role: { x: 500, y: 420, size: 26, align: 'center' } } },
    });
    await admin(base, 'POST', `campaigns/${c.id}/recipients`, {
      lines: [
        'email,number,name,role',
        'wang@example.org,RV-2026-001,王芳,Team lead 组长',
        'li@example.org,RV-2026-002,Li Wei,Helper',
        'zhao@example.org,RV-2026-003,Zhao Liu,Helper',
      ],
    });
    await admin(base, 'POST', `campaigns/${c.id}/send`, {});
    const mails = await waitForMail(base, () => true, 3);
    for (const m of mails) {
      const token = await tokenFromMail(base, m.id);
      const info = await (await fetch(`${base}/api/v2/certificates/claim?token=${token}`)).json();
      const res = await fetch(`${base}/api/v2/certificates/claim`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, name: info.name }),
      });
      expect(res.status).toBe(200);
    }
    const list = await admin<{ items: Array<{ id: number; email: string; certificateId: string }> }>(
      base,
      'GET',
      `campaigns/${c.id}/recipients`,
    );
    const by = (e: string) => list.items.find((r) => r.email === e)!;
    valid = by('wang@example.org').certificateId;
    revoked = by('li@example.org').certificateId;
    await admin(base, 'POST', `campaigns/${c.id}/recipients/${by('li@example.org').id}/revoke`, { reason: 'Did not attend the event' });
    superseded = by('zhao@example.org').certificateId;
    replacement = (
      await admin<{ certificate: { id: string } }>(base, 'POST', `campaigns/${c.id}/recipients/${by('zhao@example.org').id}/reissue`, {
        name: 'Zhao Liu 赵六',
      })
    ).certificate.id;
    browser = await launchBrowser({ locale: 'en-US' });
    zhBrowser = await launchBrowser({ locale: 'zh-CN' });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await zhBrowser?.close();
    await app?.close();
  });

  for (const width of [360, 1366]) {
    it(`shows a valid certificate at ${width} px (English), with downloads, LinkedIn and copy link`, async () => {
      const page = await browser.newPage({ width, height: 900 });
      watch(page);
      const res = await page.goto(`${app.url}/verify/${valid}`);
      expect(res!.status()).toBe(200);
      expect(res!.headers()['content-security-policy']).toContain("script-src 'self'");
      await page
        .getByTestId('certificate-image')
        .evaluate((img: HTMLImageElement) => (img.complete ? null : new Promise((r) => img.addEventListener('load', r))));
      expect(await page.getByTestId('certificate-image').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(500);
      expect(await page.getByTestId('logo').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(120);
      expect(await page.getByTestId('status').getAttribute('data-status')).toBe('valid');
      expect(await page.getByTestId('status').innerText()).toContain('Valid certificate');
      expect(await page.getByTestId('name').innerText()).toBe('王芳');
      expect(await page.getByTestId('number').innerText()).toBe('RV-2026-001');
      const body = await page.locator('main').innerText();
      expect(body).toContain('Riverside Volunteers 河畔志愿者协会');
      expect(body).toContain('Team lead 组长');
      expect(await page.title()).toBe('王芳 · Riverside Cleanup 2026');
      // Phone first: nothing scrolls sideways.
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);

      // LinkedIn's add-certification URL with every parameter.
      const li = new URL((await page.getByTestId('linkedin').getAttribute('href'))!);
      expect(li.origin + li.pathname).toBe('https://www.linkedin.com/profile/add');
      const issued = await page.getByTestId('issued').innerText();
      expect(Object.fromEntries(li.searchParams)).toEqual({
        startTask: 'CERTIFICATION_NAME',
        name: 'Riverside Cleanup 2026',
        organizationName: 'Riverside Volunteers 河畔志愿者协会',
        issueYear: issued.slice(0, 4),
        issueMonth: String(Number(issued.slice(5, 7))),
        certUrl: `${app.url}/verify/${valid}`,
        certId: 'RV-2026-001',
      });

      // WeChat / Open Graph share card.
      const og = async (p: string) => page.locator(`meta[property="og:${p}"]`).getAttribute('content');
      expect(await og('title')).toBe('王芳 · Riverside Cleanup 2026');
      expect(await og('description')).toContain('Riverside Volunteers');
      expect(await og('image')).toBe(`${app.url}/verify/${valid}/preview.jpg`);
      expect((await fetch((await og('image'))!)).headers.get('content-type')).toBe('image/jpeg');

      // Downloads: the PNG and the PDF.
      const [png] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-png').click()]);
      expect(png.suggestedFilename()).toBe('certificate-RV-2026-001.png');
      const [pdf] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-pdf').click()]);
      expect(pdf.suggestedFilename()).toBe('certificate-RV-2026-001.pdf');

      // Copy link (the script is a served file allowed by the CSP).
      await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.url });
      await page.getByTestId('copy').click();
      await expect.poll(() => page.getByTestId('copied').innerText()).toBe('Link copied');
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${app.url}/verify/${valid}`);
      await screenshot(page, `credential-valid-${width}-en`);
      await page.close();
    });
  }

  it('is Chinese for a Chinese browser, with a switch to English', async () => {
    for (const width of [360, 1366]) {
      const page = await zhBrowser.newPage({ width, height: 900 });
      watch(page);
      await page.goto(`${app.url}/verify/${valid}`);
      expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
      expect(await page.getByTestId('status').innerText()).toContain('证书有效');
      expect(await page.getByTestId('linkedin').innerText()).toContain('领英');
      await page
        .getByTestId('certificate-image')
        .evaluate((img: HTMLImageElement) => (img.complete ? null : new Promise((r) => img.addEventListener('load', r))));
      await screenshot(page, `credential-valid-${width}-zh`);
      if (width === 360) {
        await page.getByTestId('lang-en').click();
        await page.waitForURL(/lang=en/);
        expect(await page.getByTestId('status').innerText()).toContain('Valid certificate');
      }
      await page.close();
    }
  });

  for (const width of [360, 1366]) {
    it(`says a revoked certificate is revoked, when and why, at ${width} px`, async () => {
      const page = await zhBrowser.newPage({ width, height: 900 });
      watch(page);
      const res = await page.goto(`${app.url}/verify/${revoked}`);
      expect(res!.status()).toBe(200);
      expect(await page.getByTestId('status').getAttribute('data-status')).toBe('revoked');
      const today = new Intl.DateTimeFormat('en-CA', {
        timeZone: 'Asia/Shanghai',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
      }).format(new Date());
      expect(await page.getByTestId('status').innerText()).toContain(`已于 ${today} 撤销：Did not attend the event`);
      expect(await page.getByTestId('linkedin').count()).toBe(0);
      await page
        .getByTestId('certificate-image')
        .evaluate((img: HTMLImageElement) => (img.complete ? null : new Promise((r) => img.addEventListener('load', r))));
      await screenshot(page, `credential-revoked-${width}-zh`);
      await page.goto(`${app.url}/verify/${revoked}?lang=en`);
      expect(await page.getByTestId('status').innerText()).toContain(`Revoked on ${today}: Did not attend the event`);
      await screenshot(page, `credential-revoked-${width}-en`);
      // A superseded one links to its replacement.
      await page.goto(`${app.url}/verify/${superseded}?lang=en`);
      expect(await page.getByTestId('status').innerText()).toContain('Revoked on');
      expect(await page.getByTestId('status').innerText()).toContain('superseded');
      await page.getByTestId('replaced-by').click();
      await page.waitForURL(new RegExp(`/verify/${replacement}`));
      expect(await page.getByTestId('name').innerText()).toBe('Zhao Liu 赵六');
      expect(await page.getByTestId('status').getAttribute('data-status')).toBe('valid');
      await page.close();
    });
  }

  for (const width of [360, 1366]) {
    it(`answers an unknown id with a 404 page at ${width} px`, async () => {
      const page = await browser.newPage({ width, height: 700 });
      watch(page);
      const res = await page.goto(`${app.url}/verify/AAAAAAAAAAAAAAAAAAAAAA`);
      expect(res!.status()).toBe(404);
      expect(await page.getByTestId('not-found').innerText()).toBe('Certificate not found');
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      await screenshot(page, `credential-unknown-${width}-en`);
      // Whatever the id holds is shown as text, never as markup.
      await page.goto(`${app.url}/verify/"><img src=x onerror=alert(1)>?lang=zh`);
      expect(await page.getByTestId('not-found').innerText()).toBe('未找到证书');
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.locator('main').innerText()).toContain('"><img src=x onerror=alert(1)>');
      await page.close();
    });
  }

  it('met no CSP violation or script error on any page', () => {
    expect(problems.filter((p) => !/404 \(Not Found\)/.test(p))).toEqual([]);
  });
});
