/**
 * Issue 14, item 9, in real Chromium on the real app: after registering the navigation shows no
 * member links; a reused activation link says "already active, log in"; the address form takes
 * international phone numbers, leaves tag and postcode optional and offers a province / city /
 * district picker (also when editing); every member page without serious axe violations.
 * Screenshots at 360 and 1366 px, Chinese and English.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type Browser } from './browser.js';
import { ADMIN_TOKEN, startWebApp, waitForMail, type WebApp } from './fixtures.js';
import { expectAccessible, shotBoth } from './axe.js';

const PW = 'lanterns over the river';

describe('member pages: issue 14 snags (Chromium)', { timeout: 180_000 }, () => {
  let app: WebApp;
  let browser: Browser;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startWebApp(), launchBrowser({ locale: 'zh-CN' })]);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  const lang = async (page: Page, want: 'en' | 'zh') => {
    const target = want === 'en' ? 'en' : 'zh-CN';
    if ((await page.locator('html').getAttribute('lang')) !== target) await page.getByTestId('lang').click();
    await expect.poll(() => page.locator('html').getAttribute('lang')).toBe(target);
  };

  /** The activation link in the newest activation mail to `email`. */
  const activationLink = async (email: string, count = 1) => {
    const mails = await waitForMail(app.url, (m) => m.to.includes(email) && /激活|activat/i.test(m.subject), count);
    const newest = mails.reduce((a, b) => (b.id > a.id ? b : a));
    const m = (await (
      await fetch(`${app.url}/api/v2/dev/mail/${newest.id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).json()) as { text: string | null; html: string | null };
    return /https?:\/\/[^\s"<>]+\/accounts\/active\?code=[A-Za-z0-9_-]+/.exec(`${m.text}\n${m.html}`)![0];
  };

  it('after registering: log in / register in the navigation, not the member links; a reused link says already active', async () => {
    const page = await browser.newPage({ width: 360, height: 740 });
    await page.goto(`${app.url}/accounts/register`);
    await page.getByTestId('register').waitFor();
    // A title of its own (issue 14, item 7), in the page's language.
    await expect.poll(() => page.title()).toBe('注册 · 我的账号');
    await expectAccessible(page, 'register (zh)');
    await shotBoth(page, 'accounts-register-zh');
    await page.getByTestId('reg-username').fill('wang_fang');
    await page.getByTestId('reg-email').fill('wang.fang@example.org');
    await page.getByTestId('reg-password1').fill(PW);
    await page.getByTestId('reg-password2').fill(PW);
    await page.getByTestId('reg-submit').click();
    await page.getByTestId('register-sent').waitFor();
    const nav = page.getByTestId('nav');
    expect(await nav.getByTestId('nav-login').count()).toBe(1);
    expect(await nav.getByTestId('nav-register').count()).toBe(1);
    expect(await nav.getByTestId('nav-address').count()).toBe(0);
    expect(await nav.getByTestId('nav-password').count()).toBe(0);
    expect(await page.getByTestId('logout').count()).toBe(0);
    await expectAccessible(page, 'registered, check your mail (zh)');
    await shotBoth(page, 'accounts-register-sent-zh');
    await lang(page, 'en');
    await shotBoth(page, 'accounts-register-sent-en');

    const link = await activationLink('wang.fang@example.org');
    // The link is opened in another browser (the phone's mail app), used, then opened again.
    await page.goto(link);
    await page.getByTestId('activate').click();
    await page.getByTestId('activated').waitFor();
    // This browser registered: its session now works, and the navigation shows the member links.
    expect(await page.getByTestId('nav-address').count()).toBe(1);
    await page.goto(link);
    await page.getByTestId('activate').click();
    const already = page.getByTestId('already-active');
    await already.waitFor();
    expect(await already.innerText()).toContain('already active');
    expect(await page.getByTestId('error').count()).toBe(0);
    await expectAccessible(page, 'activation link reused (en)');
    await shotBoth(page, 'accounts-active-already-en');
    await lang(page, 'zh');
    expect(await already.innerText()).toContain('已经激活');
    await shotBoth(page, 'accounts-active-already-zh');
    await page.close();
  });

  it('addresses: a province/city/district picker, international phone numbers, tag and postcode optional', async () => {
    const page = await browser.newPage({ width: 360, height: 740 });
    await page.goto(`${app.url}/accounts/login`);
    await lang(page, 'zh');
    await page.getByTestId('login-name').fill('wang_fang');
    await page.getByTestId('login-password').fill(PW);
    await expectAccessible(page, 'log in (zh)');
    await shotBoth(page, 'accounts-login-zh');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('addr-empty').waitFor();

    // Mainland: the picker writes the start of the address; no tag, no postcode.
    await page.getByTestId('addr-add').click();
    const province = page.getByTestId('addr-region-province');
    await expect.poll(() => province.isEnabled()).toBe(true);
    await province.selectOption({ label: '广东省' });
    await page.getByTestId('addr-region-city').selectOption({ label: '深圳市' });
    await page.getByTestId('addr-region-district').selectOption({ label: '南山区' });
    expect(await page.getByTestId('addr-address').inputValue()).toBe('广东省深圳市南山区');
    await page.getByTestId('addr-address').fill('广东省深圳市南山区科技园南区1栋');
    await page.getByTestId('addr-receiver').fill('王芳');
    await page.getByTestId('addr-phone').fill('138 1234 5678');
    await expectAccessible(page, 'address form (zh)');
    await shotBoth(page, 'accounts-address-form-zh');
    await page.getByTestId('addr-save').click();
    await page.getByTestId('addr-flash').waitFor();
    expect(await page.getByTestId('addr-text').first().innerText()).toContain('广东省深圳市南山区科技园南区1栋');

    // A municipality: one city, chosen for the person, written once.
    await page.getByTestId('addr-add').click();
    await expect.poll(() => province.isEnabled()).toBe(true);
    await province.selectOption({ label: '北京市' });
    await page.getByTestId('addr-region-district').selectOption({ label: '朝阳区' });
    expect(await page.getByTestId('addr-address').inputValue()).toBe('北京市朝阳区');
    await page.getByTestId('addr-cancel').click();

    // Abroad: no picker, a number with its country code, a postcode of its own form.
    await lang(page, 'en');
    await page.getByTestId('addr-add').click();
    await page.getByTestId('addr-receiver').fill('Ann Lee');
    await page.getByTestId('addr-phone').fill('+44 20 7946 09');
    await page.getByTestId('addr-address').fill('10 Downing Street, London');
    await page.getByTestId('addr-postcode').fill('SW1A 2AA');
    await page.getByTestId('addr-save').click();
    expect(await page.getByTestId('addr-phone-error').innerText()).toContain('Not a valid phone number');
    await page.getByTestId('addr-phone').fill('+44 20 7946 0958');
    await page.getByTestId('addr-save').click();
    await page.getByTestId('addr-flash').waitFor();
    const cards = await page.getByTestId('addr-card').allInnerTexts();
    expect(cards.join('\n')).toContain('+442079460958');
    expect(cards.join('\n')).toContain('SW1A 2AA');
    await expectAccessible(page, 'address list (en)');
    await shotBoth(page, 'accounts-addresses-en');

    // Editing the mainland address: the picker shows what the address starts with.
    const mainland = page.getByTestId('addr-card').filter({ hasText: '王芳' });
    await mainland.getByTestId('addr-edit').click();
    await expect.poll(() => page.getByTestId('addr-region-district').inputValue()).not.toBe('');
    expect(await page.getByTestId('addr-region-province').locator('option:checked').innerText()).toBe('广东省');
    expect(await page.getByTestId('addr-region-city').locator('option:checked').innerText()).toBe('深圳市');
    expect(await page.getByTestId('addr-region-district').locator('option:checked').innerText()).toBe('南山区');
    // Another district replaces the start of the address and keeps the rest.
    await page.getByTestId('addr-region-district').selectOption({ label: '福田区' });
    expect(await page.getByTestId('addr-address').inputValue()).toBe('广东省深圳市福田区科技园南区1栋');
    await shotBoth(page, 'accounts-address-edit-en');
    await page.getByTestId('addr-save').click();
    await page.getByTestId('addr-flash').waitFor();
    expect((await page.getByTestId('addr-card').allInnerTexts()).join('\n')).toContain('广东省深圳市福田区科技园南区1栋');

    // The other member pages pass axe too.
    for (const [path, testid] of [
      ['/accounts/password', 'password'],
      ['/accounts/forgot', 'forgot'],
    ] as const) {
      await page.goto(`${app.url}${path}`);
      await page.locator(`[data-testid="${testid}"], [data-testid="${testid}-page"], main h1`).first().waitFor();
      await expectAccessible(page, path);
      await shotBoth(page, `accounts-${testid}-en`);
    }
    await page.close();
  });
});
