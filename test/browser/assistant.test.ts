/**
 * The auto-reply assistant's pages (/assistant) in real Chromium at phone width, against the real
 * app with the platform official account configured and WeChat's API faked on loopback: register
 * with the code the platform account sends (its QR shown on the page), log in, rules (add with
 * several keywords and replies, refused duplicate, search, edit, delete), the on/off switch,
 * connect official accounts and see WeChat verify a callback URL, per-account rules, the simulator,
 * export and import (with a long list), scan to bind, an expired session, Chinese, sign out; every
 * page without horizontal scrolling at 360 px. Other server set-ups: assistant-setup.test.ts.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type Browser } from './browser.js';
import type { TestApp } from '../helpers/app.js';
import type { FakeWechat } from '../helpers/fake-wechat.js';
import type { CallbackAccount } from '../../src/platform/wechat/callback.js';
import { wechatSignature } from '../../src/platform/wechat/signature.js';
import {
  event,
  fitsWidth,
  MP,
  mpEnv,
  PASSWORD,
  PHONE,
  qrScenes,
  startAssistantApp,
  text,
  wechatSends as sendTo,
  workingWechat,
} from './assistant-fixtures.js';

describe('auto-reply assistant pages (Chromium, phone width)', { timeout: 180_000 }, () => {
  let t: TestApp;
  let fake: FakeWechat;
  let base = '';
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  const wechatSends = (path: string, acc: CallbackAccount, fields: Record<string, string | number>, encrypt = true) =>
    sendTo(base, path, acc, fields, encrypt);
  const fitsPhone = () => fitsWidth(page);

  beforeAll(async () => {
    fake = await workingWechat();
    ({ t, url: base } = await startAssistantApp(mpEnv(fake.url)));
    browser = await launchBrowser({ locale: 'en-US' });
    page = await browser.newPage(PHONE);
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await fake?.close();
  });

  it('registers with the code the platform account sends after scanning its QR on the page', async () => {
    await page.goto(`${base}/assistant`);
    await page.getByTestId('login').waitFor();
    await page.getByTestId('to-register').click();
    await page.waitForURL(/\/assistant\/register$/);
    // The platform account's QR really loads: an image WeChat made for the 'register' scene.
    const qr = page.getByTestId('platform-qr');
    await expect.poll(() => qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(100);
    expect(qrScenes(fake)).toContain('register');
    await expect.poll(() => page.getByTestId('register').innerText()).toContain('验证码');
    await fitsPhone();
    await screenshot(page, 'assistant-register');

    // Checked before sending: nothing reaches the server.
    const posts: string[] = [];
    page.on('request', (r) => r.method() === 'POST' && posts.push(new URL(r.url()).pathname));
    await page.getByTestId('reg-code').fill('12ab');
    await page.getByTestId('reg-username').fill('a');
    await page.getByTestId('reg-password').fill('short');
    await page.getByTestId('reg-password2').fill('other');
    await page.getByTestId('reg-submit').click();
    const errors = await page.getByTestId('field-error').allInnerTexts();
    expect(errors).toEqual([
      'The code has 6 digits.',
      '3 to 30 letters, digits, “_”, “.” or “-”.',
      '8 to 128 characters.',
      'The two passwords differ.',
    ]);
    expect(posts).toEqual([]);
    await screenshot(page, 'assistant-register-invalid');

    // Scanning the page's QR is a follow: the platform account answers with a code.
    const reply = await wechatSends('/wechat/callback', MP, event('o_alice', 'subscribe', 'qrscene_register'));
    const first = /(\d{6})/.exec(reply ?? '')?.[1];
    expect(first, reply ?? 'no reply').toBeTruthy();
    // Scanning it again while following (a SCAN event) brings a fresh code, and still binds nothing.
    const again = await wechatSends('/wechat/callback', MP, event('o_alice', 'SCAN', 'register'));
    const code = /(\d{6})/.exec(again ?? '')?.[1];
    expect(code, again ?? 'no reply').toBeTruthy();

    await page.getByTestId('reg-code').fill(code === '000000' ? '111111' : '000000');
    await page.getByTestId('reg-username').fill('alice');
    await page.getByTestId('reg-password').fill('abcdefgh');
    await page.getByTestId('reg-password2').fill('abcdefgh');
    await page.getByTestId('reg-submit').click();
    // Refused by the server's strength check (zxcvbn), with its reason.
    await expect
      .poll(() => page.getByTestId('error').innerText())
      .toMatch(/^This password is too easy to guess\. Common character sequences like "abc" are easy to guess/);
    await screenshot(page, 'assistant-register-weak-password');
    await page.getByTestId('reg-password').fill(PASSWORD);
    await page.getByTestId('reg-password2').fill(PASSWORD);
    await page.getByTestId('reg-submit').click();
    await expect.poll(() => page.getByTestId('error').innerText()).toContain('verification code is wrong');
    expect(posts).toEqual(['/account/register', '/account/register']);
    await page.getByTestId('reg-code').fill(code!);
    await page.getByTestId('reg-submit').click();
    await page.getByTestId('registered').waitFor();
    expect(await page.getByTestId('login-username').inputValue()).toBe('alice');
  });

  it('logs in (a wrong password is refused in words) and starts with no rules', async () => {
    await page.getByTestId('login-password').fill('not the password');
    await page.getByTestId('login-submit').click();
    await expect.poll(() => page.getByTestId('error').innerText()).toBe('Wrong username or password.');
    await page.getByTestId('login-password').fill(PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('rules-page').waitFor();
    await page.getByTestId('empty').waitFor();
    expect(await page.getByTestId('switch-state').innerText()).toBe('On');
    // The session is an HttpOnly cookie: the page cannot read it.
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await fitsPhone();
  });

  it('adds, refuses a duplicate keyword, searches, edits and deletes rules', async () => {
    await page.getByTestId('new-rule').click();
    const editor = page.getByTestId('rule-editor');
    await editor.getByTestId('rule-save').click();
    expect(await editor.getByTestId('field-error').allInnerTexts()).toEqual(['Required.', 'Required.']);
    await editor.getByTestId('kw-text').nth(0).fill('hours');
    await editor.getByTestId('kw-add').click();
    await editor.getByTestId('kw-text').nth(1).fill('open');
    await editor.getByTestId('kw-match').nth(1).selectOption('contains');
    await editor.getByTestId('reply-text').nth(0).fill('We are open 9:00-17:00.');
    await editor.getByTestId('reply-add').click();
    await editor.getByTestId('reply-text').nth(1).fill('Closed on Sundays.');
    await screenshot(page, 'assistant-rule-editor');
    await editor.getByTestId('rule-save').click();
    await expect.poll(() => page.getByTestId('rule-keyword').allInnerTexts()).toEqual(['hours', 'open']);
    expect(await page.getByTestId('notice').innerText()).toBe('Rule added.');
    expect(await page.getByTestId('rule-reply').allInnerTexts()).toEqual(['We are open 9:00-17:00.', 'Closed on Sundays.']);

    // A keyword another rule uses: the server refuses it, the page says which.
    await page.getByTestId('new-rule').click();
    await editor.getByTestId('kw-text').fill('HOURS');
    await editor.getByTestId('reply-text').fill('dup');
    await editor.getByTestId('rule-save').click();
    await expect.poll(() => editor.getByTestId('error').innerText()).toBe('The keyword “hours” is already used by another rule.');
    await editor.getByTestId('kw-text').fill('price');
    await editor.getByTestId('reply-text').fill('Free for volunteers.');
    await editor.getByTestId('rule-save').click();
    await expect.poll(() => page.getByTestId('rule').count()).toBe(2);
    expect(await page.getByTestId('rule-count').innerText()).toBe('2 rules');

    await page.getByTestId('search').fill('volunteer');
    await expect.poll(() => page.getByTestId('rule-keyword').allInnerTexts()).toEqual(['price']);
    await page.getByTestId('search').fill('nothing-like-this');
    await expect.poll(() => page.getByTestId('empty').innerText()).toContain('No rule matches');
    await page.getByTestId('search').fill('');
    await expect.poll(() => page.getByTestId('rule').count()).toBe(2);

    const price = page.getByTestId('rule').nth(1);
    await price.getByTestId('rule-edit').click();
    await page.getByTestId('rule-editor').getByTestId('reply-text').fill('Free for volunteers, 5 yuan otherwise.');
    await page.getByTestId('rule-editor').getByTestId('rule-save').click();
    await expect.poll(() => page.getByTestId('rule-reply').allInnerTexts()).toContain('Free for volunteers, 5 yuan otherwise.');
    await expect.poll(() => page.getByTestId('notice').innerText()).toBe('Rule saved.');

    // The seed's view sees the same rules, with the seed's keys.
    const seedView = await (await page.request.get(`${base}/database/show`)).json();
    expect(seedView).toEqual({
      '01': { hours: 'We are open 9:00-17:00.', open: 'We are open 9:00-17:00.' },
      '02': { price: 'Free for volunteers, 5 yuan otherwise.' },
    });

    await page.getByTestId('rule').nth(1).getByTestId('rule-delete').click();
    await page.getByTestId('confirm-delete').getByTestId('confirm-yes').click();
    await expect.poll(() => page.getByTestId('rule').count()).toBe(1);
    await expect.poll(() => page.getByTestId('notice').innerText()).toBe('Rule deleted.');
    await fitsPhone();
    await screenshot(page, 'assistant-rules');
  });

  it('says what went wrong when the server cannot be reached, and recovers on retry', async () => {
    const rulesUrl = (u: URL) => u.pathname === '/api/v2/autoreply/rules';
    await page.route(rulesUrl, (r) => r.abort());
    await page.reload();
    await expect.poll(() => page.getByTestId('error').first().innerText()).toContain('Could not reach the server');
    await screenshot(page, 'assistant-rules-offline');
    await page.unroute(rulesUrl);
    await page.getByTestId('retry').first().click();
    await expect.poll(() => page.getByTestId('rule').count()).toBe(1);
  });

  it('connects an official account and shows WeChat verifying its callback URL', async () => {
    await page.getByTestId('nav').getByText('Official accounts').click();
    await page.getByTestId('no-accounts').waitFor();
    await page.getByTestId('acc-appid').fill('not-an-appid');
    await page.getByTestId('acc-aes').fill('too-short');
    await page.getByTestId('connect').click();
    expect(await page.getByTestId('connect-form').getByTestId('field-error').allInnerTexts()).toEqual([
      'The AppID starts with wx, followed by letters and digits.',
      'Required.',
      'Required.',
      'The EncodingAESKey has exactly 43 letters and digits.',
    ]);
    const acc: CallbackAccount = { appid: 'wxshop000000000001', token: 'shoptoken', aesKey: 'ShopAesKey0123456789abcdefghijklmnopqrstuvw' };
    await page.getByTestId('acc-name').fill('Riverside shop');
    await page.getByTestId('acc-appid').fill(acc.appid);
    await page.getByTestId('acc-secret').fill('shopsecret000000000000001');
    await page.getByTestId('acc-token').fill(acc.token);
    await page.getByTestId('acc-aes').fill(acc.aesKey!);
    await page.getByTestId('connect').click();
    await page.getByTestId('account').waitFor();
    expect(await page.getByTestId('accounts-notice').innerText()).toContain('paste the callback URL');
    const callbackUrl = await page.getByTestId('callback-url').innerText();
    expect(callbackUrl).toMatch(new RegExp(`^${base}/wechat/callback/[A-Za-z0-9_-]{10,}$`));
    expect(await page.getByTestId('verified').innerText()).toBe('Not verified yet');
    // The secret is never shown again.
    expect(await page.content()).not.toContain('shopsecret000000000000001');
    await fitsPhone();
    await screenshot(page, 'assistant-account-connected');

    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    await page.getByTestId('copy').click();
    await expect.poll(() => page.getByTestId('copy').innerText()).toBe('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(callbackUrl);

    // WeChat checks the URL (GET with echostr); the page shows it once asked again.
    const timestamp = String(Math.floor(Date.now() / 1000));
    const q = new URLSearchParams({ signature: wechatSignature(acc.token, timestamp, 'n1'), timestamp, nonce: 'n1', echostr: 'echo-123' });
    const echo = await fetch(`${callbackUrl}?${q}`);
    expect(await echo.text()).toBe('echo-123');
    await page.getByTestId('check').click();
    await expect.poll(() => page.getByTestId('verified').innerText()).toBe('Verified by WeChat');
    await page.getByTestId('verified-at').waitFor();
    await screenshot(page, 'assistant-account-verified');
  });

  it('simulates messages through the callback, with the switch on and off', async () => {
    await page.getByTestId('nav').getByText('Rules').click();
    const sim = page.getByTestId('simulator');
    await sim.getByTestId('sim-send').click();
    expect(await sim.locator('.error-text').innerText()).toBe('Required.');
    await sim.getByTestId('sim-text').fill('when are you open today?');
    await sim.getByTestId('sim-send').click();
    // "open" matches by "contains"; the rule sends all its replies (the first in the answer).
    await expect.poll(() => sim.getByTestId('sim-reply').first().innerText()).toBe('We are open 9:00-17:00.');
    expect(await sim.getByTestId('sim-result').first().innerText()).toContain('safe mode (encrypted)');
    await fitsPhone();
    await screenshot(page, 'assistant-simulator');

    await page.getByTestId('switch').click();
    await expect.poll(() => page.getByTestId('switch-state').innerText()).toBe('Off');
    expect(await (await page.request.get(`${base}/wechat/autoreply`)).json()).toMatchObject({ code: 200, enabled: false });
    await sim.getByTestId('sim-text').fill('hours');
    await sim.getByTestId('sim-send').click();
    await expect.poll(() => sim.getByTestId('sim-result').first().innerText()).toContain('No reply');
    await screenshot(page, 'assistant-switch-off');
    await page.getByTestId('switch').click();
    await expect.poll(() => page.getByTestId('switch-state').innerText()).toBe('On');
    expect(await (await page.request.get(`${base}/wechat/autoreply`)).json()).toMatchObject({ enabled: true });

    // A follow reply set on the page answers a simulated follow.
    await page.getByTestId('extra-toggle').click();
    await page.getByTestId('follow-reply').fill('Thanks for following!');
    await page.getByTestId('save-replies').click();
    await expect.poll(() => page.getByTestId('settings-notice').innerText()).toBe('Saved.');
    await sim.getByTestId('sim-follow').click();
    await expect.poll(() => sim.getByTestId('sim-reply').first().innerText()).toBe('Thanks for following!');
  });

  it('exports the rules as JSON and imports a file, checking it first', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
    const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
    expect(exported.version).toBe(1);
    expect(exported.rules).toEqual([
      {
        keywords: [
          { text: 'hours', match: 'equal' },
          { text: 'open', match: 'contains' },
        ],
        replies: ['We are open 9:00-17:00.', 'Closed on Sundays.'],
        mode: 'all',
      },
    ]);

    const file = page.getByTestId('import-file');
    await file.setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from('{not json') });
    await expect.poll(() => page.getByTestId('io').getByTestId('field-error').innerText()).toBe('This file is not JSON.');
    const dup = {
      version: 1,
      rules: [
        { keywords: [{ text: 'a', match: 'equal' }], replies: ['1'] },
        { keywords: [{ text: 'A', match: 'equal' }], replies: ['2'] },
      ],
    };
    await file.setInputFiles({ name: 'dup.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(dup)) });
    await expect
      .poll(() => page.getByTestId('io').getByTestId('field-error').innerText())
      .toBe('The keyword “A” appears twice in the file.');

    // Adding a file whose keyword is already used: refused as a whole, nothing changes.
    const clash = {
      rules: [
        { keywords: [{ text: 'parking', match: 'equal' }], replies: ['Behind the hall.'] },
        { keywords: [{ text: 'hours', match: 'equal' }], replies: ['x'] },
      ],
    };
    await file.setInputFiles({ name: 'clash.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(clash)) });
    expect(await page.getByTestId('import-ready').innerText()).toBe('2 rules ready to import.');
    await page.getByTestId('import').click();
    await expect
      .poll(() => page.getByTestId('io').getByTestId('error').innerText())
      .toBe('The keyword “hours” is already used by another rule.');
    expect(await page.getByTestId('rule').count()).toBe(1);

    await page.getByTestId('import-replace').check();
    await page.getByTestId('import').click();
    await expect.poll(() => page.getByTestId('io-notice').innerText()).toBe('2 rules imported.');
    await expect.poll(() => page.getByTestId('rule-keyword').allInnerTexts()).toEqual(['parking', 'hours']);
    await screenshot(page, 'assistant-imported');
  });

  it('binds a WeChat by scanning the QR code shown on the page', async () => {
    await page.getByTestId('nav').getByText('WeChat').click();
    // Registration bound the WeChat that asked for the code.
    await expect.poll(() => page.getByTestId('bind-status').innerText()).toBe('Your WeChat is bound to this account.');
    await page.getByTestId('bind-show').click();
    const qr = page.getByTestId('bind-qr');
    await expect.poll(() => qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(100);
    await fitsPhone();
    await screenshot(page, 'assistant-bind-qr');
    const scene = qrScenes(fake)
      .filter((s) => s !== 'register')
      .pop()!;
    const reply = await wechatSends('/wechat/callback', MP, event('o_alice_phone2', 'SCAN', scene));
    expect(reply).toContain('alice');
    await page.getByTestId('bind-done').waitFor();
    // The newly bound WeChat manages rules by command.
    expect(await wechatSends('/wechat/callback', MP, text('o_alice_phone2', '添加 wifi 密码是 volunteer2026'))).toContain('已添加');
    await page.getByTestId('nav').getByText('Rules').click();
    await expect.poll(() => page.getByTestId('rule-keyword').allInnerTexts()).toContain('wifi');
  });

  it("keeps one account's own rules apart, simulates on it, and disconnects it", async () => {
    const plain: CallbackAccount = { appid: 'wxcafe0000000000002', token: 'cafetoken', aesKey: null };
    await page.getByTestId('nav').getByText('Official accounts').click();
    await page.getByTestId('acc-name').fill('Corner cafe');
    await page.getByTestId('acc-appid').fill(plain.appid);
    await page.getByTestId('acc-secret').fill('cafesecret00000000000002');
    await page.getByTestId('acc-token').fill(plain.token);
    await page.getByTestId('connect').click();
    await expect.poll(() => page.getByTestId('account').count()).toBe(2);
    const cafe = page.getByTestId('account').filter({ hasText: 'Corner cafe' });
    expect(await cafe.innerText()).toContain('Plain mode');
    await cafe.getByTestId('account-rules').click();
    await expect.poll(() => page.getByTestId('scope').locator('option:checked').innerText()).toBe('Only Corner cafe');
    await page.getByTestId('empty').waitFor();
    await page.getByTestId('new-rule').click();
    await page.getByTestId('rule-editor').getByTestId('kw-text').fill('wifi');
    await page.getByTestId('rule-editor').getByTestId('reply-text').fill('Ask at the counter.');
    await page.getByTestId('rule-editor').getByTestId('rule-save').click();
    await expect.poll(() => page.getByTestId('rule-keyword').allInnerTexts()).toEqual(['wifi']);

    // On the cafe's callback its own rule wins over the shared one; the shop still gets the shared one.
    const sim = page.getByTestId('simulator');
    expect(await sim.getByTestId('sim-account').locator('option:checked').innerText()).toBe('Corner cafe');
    await sim.getByTestId('sim-text').fill('wifi');
    await sim.getByTestId('sim-send').click();
    await expect.poll(() => sim.getByTestId('sim-reply').first().innerText()).toBe('Ask at the counter.');
    expect(await sim.getByTestId('sim-result').first().innerText()).toContain('plain mode');
    await sim.getByTestId('sim-account').selectOption({ label: 'Riverside shop' });
    await sim.getByTestId('sim-send').click();
    await expect.poll(() => sim.getByTestId('sim-reply').first().innerText()).toBe('密码是 volunteer2026');
    await screenshot(page, 'assistant-account-rules');

    await page.getByTestId('scope').selectOption({ label: 'All my accounts (shared rules)' });
    await page.waitForURL((u) => !u.search.includes('account='));
    await expect.poll(() => page.getByTestId('rule-keyword').allInnerTexts()).toEqual(['parking', 'hours', 'wifi']);

    await page.getByTestId('nav').getByText('Official accounts').click();
    await cafe.getByTestId('disconnect').click();
    expect(await cafe.getByTestId('confirm-disconnect').innerText()).toContain('Disconnect Corner cafe?');
    await cafe.getByTestId('confirm-disconnect').getByTestId('confirm-yes').click();
    await expect.poll(() => page.getByTestId('account').count()).toBe(1);
    expect(await page.getByTestId('accounts-notice').innerText()).toBe('Disconnected.');
  });

  it('sends an expired session to the login page with a word of why, and back after signing in', async () => {
    await page.getByTestId('nav').getByText('Rules').click();
    await page.getByTestId('rule-list').waitFor();
    await browser.context.clearCookies();
    await page.getByTestId('switch').click();
    await page.waitForURL(/\/assistant\/login\?/);
    expect(await page.getByTestId('login').innerText()).toContain('Your session ended. Sign in again.');
    await page.getByTestId('login-username').fill('alice');
    await page.getByTestId('login-password').fill(PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('rules-page').waitFor();
    // Nothing changed meanwhile: the refused click did not switch auto-reply off.
    await expect.poll(() => page.getByTestId('switch-state').innerText()).toBe('On');
    // Wider screens get the same column, centred.
    await page.setViewportSize({ width: 1024, height: 800 });
    await fitsPhone();
    await screenshot(page, 'assistant-rules-desktop');
    await page.setViewportSize(PHONE);
  });

  it("imports the seed's own {key: {received: reply}} view and pages through a long list", async () => {
    const seedView: Record<string, Record<string, string>> = {};
    for (let i = 1; i <= 150; i++) seedView[String(i).padStart(2, '0')] = { [`item ${i}`]: `answer ${i}` };
    await page
      .getByTestId('import-file')
      .setInputFiles({ name: 'seed.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(seedView)) });
    expect(await page.getByTestId('import-ready').innerText()).toBe('150 rules ready to import.');
    await page.getByTestId('import').click();
    await expect.poll(() => page.getByTestId('io-notice').innerText()).toBe('150 rules imported.');
    await expect.poll(() => page.getByTestId('rule-count').innerText()).toBe('153 rules');
    expect(await page.getByTestId('rule').count()).toBe(100);
    await page.getByTestId('more').click();
    await expect.poll(() => page.getByTestId('rule').count()).toBe(153);
    expect(await page.getByTestId('more').count()).toBe(0);
    expect(await page.getByTestId('rule-keyword').last().innerText()).toBe('item 150');
    await page.getByTestId('search').fill('answer 149');
    await expect.poll(() => page.getByTestId('rule-keyword').allInnerTexts()).toEqual(['item 149']);
    await page.getByTestId('search').fill('');
    await expect.poll(() => page.getByTestId('rule').count()).toBe(100);
  });

  it('speaks Chinese, remembers the choice, and signs out', async () => {
    await page.getByTestId('lang').click();
    await expect.poll(() => page.getByTestId('rules-page').innerText()).toContain('自动回复规则');
    expect(await page.evaluate(() => [localStorage.getItem('vh.lang'), document.documentElement.lang])).toEqual(['zh', 'zh-CN']);
    await fitsPhone();
    await screenshot(page, 'assistant-rules-zh');
    await page.goto(`${base}/assistant/accounts`);
    await expect.poll(() => page.getByTestId('verified').innerText()).toBe('微信已验证');
    await screenshot(page, 'assistant-accounts-zh');

    await page.getByTestId('signout').click();
    await page.getByTestId('login').waitFor();
    await page.goto(`${base}/assistant/bind`);
    await page.waitForURL(/\/assistant\/login\?next=/);
    await page.getByTestId('to-register').click();
    await expect.poll(() => page.getByTestId('register').innerText()).toContain('如何获取验证码');
    await screenshot(page, 'assistant-register-zh');
    await page.getByTestId('lang').click();
    expect(pageErrors).toEqual([]);
  });

  it('made one follow QR for every register page shown', () => {
    expect(qrScenes(fake).filter((s) => s === 'register')).toHaveLength(1);
  });
});
