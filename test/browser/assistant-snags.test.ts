/**
 * Issue 14, item 10, in real Chromium on the real app (WeChat's API faked on loopback): the
 * platform account's name and WeChat ID as text for people on a phone; "generate" for the Token
 * and the EncodingAESKey; the warning that enabling the server configuration turns off the
 * account's own auto-replies and menus; named rules with a link card and an image; every page
 * without serious axe violations. Screenshots at 360 and 1366 px, Chinese and English.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type Browser } from './browser.js';
import type { TestApp } from '../helpers/app.js';
import type { FakeWechat } from '../helpers/fake-wechat.js';
import { event, MP, mpEnv, PASSWORD, PHONE, startAssistantApp, wechatSends, workingWechat } from './assistant-fixtures.js';
import { expectAccessible, shotBoth } from './axe.js';

describe('assistant pages: issue 14 snags (Chromium)', { timeout: 180_000 }, () => {
  let t: TestApp;
  let fake: FakeWechat;
  let base = '';
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    fake = await workingWechat();
    ({ t, url: base } = await startAssistantApp({
      ...mpEnv(fake.url),
      WECHAT_MP_NAME: '志愿者小助手',
      WECHAT_MP_WECHAT_ID: 'volunteer_helper',
    }));
    browser = await launchBrowser({ locale: 'zh-CN' });
    page = await browser.newPage(PHONE);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await fake?.close();
  });

  const lang = async (want: 'en' | 'zh') => {
    const target = want === 'en' ? 'en' : 'zh-CN';
    if ((await page.locator('html').getAttribute('lang')) !== target) await page.getByTestId('lang').click();
    await expect.poll(() => page.locator('html').getAttribute('lang')).toBe(target);
  };

  it("shows the platform account's name and WeChat ID as text on the register page, for a phone that cannot scan itself", async () => {
    await page.goto(`${base}/assistant/register`);
    await page.getByTestId('platform-id').waitFor();
    expect(await page.getByTestId('platform-name').innerText()).toBe('志愿者小助手');
    expect(await page.getByTestId('platform-wechat-id').innerText()).toBe('volunteer_helper');
    expect(await page.getByTestId('platform-id').innerText()).toContain('搜索');
    expect(await page.title()).toContain('注册');
    await expectAccessible(page, 'assistant register (zh)');
    await shotBoth(page, 'assistant-register-zh');
    await lang('en');
    expect(await page.getByTestId('platform-id').innerText()).toContain('Search for the account in WeChat');
    await shotBoth(page, 'assistant-register-en');

    // Register (the code comes from following the platform account) and sign in.
    const reply = await wechatSends(base, '/wechat/callback', MP, event('o_snags', 'subscribe'));
    const code = /(\d{6})/.exec(reply ?? '')![1];
    await page.getByTestId('reg-code').fill(code);
    await page.getByTestId('reg-username').fill('snags');
    await page.getByTestId('reg-password').fill(PASSWORD);
    await page.getByTestId('reg-password2').fill(PASSWORD);
    await page.getByTestId('reg-submit').click();
    await page.getByTestId('login').waitFor();
    await expectAccessible(page, 'assistant login (en)');
    await page.getByTestId('login-username').fill('snags');
    await page.getByTestId('login-password').fill(PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('rules-page').waitFor();
  });

  it('generates a Token and an EncodingAESKey with the browser CSPRNG, and warns that WeChat then turns off its own replies and menus', async () => {
    await page.goto(`${base}/assistant/accounts`);
    await page.getByTestId('connect-form').waitFor();
    const warning = page.getByTestId('server-config-warning');
    expect(await warning.innerText()).toMatch(/auto-replies and custom menus/);
    await page.getByTestId('gen-token').click();
    const token1 = await page.getByTestId('acc-token').inputValue();
    expect(token1).toMatch(/^[A-Za-z0-9]{32}$/);
    await page.getByTestId('gen-token').click();
    expect(await page.getByTestId('acc-token').inputValue()).not.toBe(token1);
    await page.getByTestId('gen-aes').click();
    const aes = await page.getByTestId('acc-aes').inputValue();
    expect(aes).toMatch(/^[A-Za-z0-9]{43}$/);
    // Generated in the page: nothing was asked of the server for them.
    await page.getByTestId('acc-name').fill('河道清洁');
    await page.getByTestId('acc-appid').fill('wxsnags0000000001');
    await page.getByTestId('acc-secret').fill('snagssecret000000000001');
    await expectAccessible(page, 'assistant connect form (en)');
    await shotBoth(page, 'assistant-connect-en');
    await page.getByTestId('connect').click();
    await page.getByTestId('account').waitFor();
    expect(await page.getByTestId('takeover-note').innerText()).toMatch(/turns off the account’s own auto-replies and custom menus/);
    const row = await t.core.db.selectFrom('mp_accounts').select(['appid']).where('appid', '=', 'wxsnags0000000001').executeTakeFirst();
    expect(row).toBeTruthy();
    await lang('zh');
    expect(await page.getByTestId('server-config-warning').innerText()).toContain('自定义菜单都会停用');
    await expectAccessible(page, 'assistant accounts (zh)');
    await shotBoth(page, 'assistant-accounts-zh');
  });

  it('names rules and adds a link card and an image reply, checked in the page and shown in the list and the simulator', async () => {
    await page.goto(`${base}/assistant/`);
    await page.getByTestId('rules-page').waitFor();
    await lang('en');
    await page.getByTestId('new-rule').click();
    const editor = page.getByTestId('rule-editor');
    await editor.getByTestId('rule-name').fill('Opening hours');
    await editor.getByTestId('kw-text').fill('hours');
    await editor.getByTestId('reply-type').selectOption('news');
    await editor.getByTestId('reply-title').fill('We are open 9 to 5');
    await editor.getByTestId('reply-url').fill('javascript:alert(1)');
    await editor.getByTestId('reply-add').click();
    await editor.getByTestId('reply-type').nth(1).selectOption('image');
    await editor.getByTestId('reply-media-id').fill('not a media id');
    await editor.getByTestId('rule-save').click();
    const errors = await editor.getByTestId('field-error').allInnerTexts();
    expect(errors).toContain('A full address starting with https:// (or http://).');
    expect(errors.join(' ')).toContain('A media_id has letters, digits');
    expect(await editor.innerText()).toContain('material library');
    await expectAccessible(page, 'assistant rule editor with problems (en)');
    await shotBoth(page, 'assistant-rule-editor-en');
    await editor.getByTestId('reply-url').fill('https://example.org/hours');
    await editor.getByTestId('reply-pic-url').fill('https://example.org/hours.jpg');
    await editor.getByTestId('reply-description').fill('Monday to Friday');
    await editor.getByTestId('reply-media-id').fill('Xq7_hNJ-LxG8vmFunz2Hjeb73X1IS02pu0jslBK24HAh');
    await editor.getByTestId('rule-save').click();
    await page.getByTestId('notice').waitFor();
    const rule = page.getByTestId('rule').first();
    expect(await rule.getByTestId('rule-name-text').innerText()).toBe('Opening hours');
    const replies = rule.getByTestId('rule-reply');
    expect(await replies.nth(0).getAttribute('data-type')).toBe('news');
    expect(await replies.nth(0).innerText()).toContain('We are open 9 to 5');
    expect(await replies.nth(1).innerText()).toContain('Xq7_hNJ-LxG8vmFunz2Hjeb73X1IS02pu0jslBK24HAh');
    // Searching by the name finds it.
    await page.getByTestId('search').fill('opening');
    await expect.poll(() => page.getByTestId('rule-count').innerText()).toContain('1 rule');
    await page.getByTestId('search').fill('');

    // The simulator answers with the link card (WeChat's news XML), the image following.
    await page.getByTestId('sim-text').fill('hours');
    await page.getByTestId('sim-send').click();
    await expect.poll(() => page.getByTestId('sim-reply').first().innerText()).toBe('[news] We are open 9 to 5 https://example.org/hours');
    await expectAccessible(page, 'assistant rules (en)');
    await shotBoth(page, 'assistant-rules-en');
    await lang('zh');
    await shotBoth(page, 'assistant-rules-zh');
    // Editing keeps the name and the typed replies.
    await rule.getByTestId('rule-edit').click();
    expect(await page.getByTestId('rule-name').inputValue()).toBe('Opening hours');
    expect(await page.getByTestId('reply-type').nth(0).inputValue()).toBe('news');
    expect(await page.getByTestId('reply-url').inputValue()).toBe('https://example.org/hours');
    await page.getByTestId('rule-cancel').click();
  });

  it("the bind page gives people on a phone the account's name and ID, and how to scan from the album", async () => {
    await page.goto(`${base}/assistant/bind`);
    await page.getByTestId('bind-page').waitFor();
    await page.getByTestId('platform-wechat-id').waitFor();
    await page.getByTestId('bind-show').click();
    await page.getByTestId('bind-qr').waitFor();
    expect(await page.getByTestId('bind-phone').innerText()).toContain('相册');
    await expectAccessible(page, 'assistant bind (zh)');
    await shotBoth(page, 'assistant-bind-zh');
    await lang('en');
    expect(await page.getByTestId('bind-phone').innerText()).toContain('album');
    await shotBoth(page, 'assistant-bind-en');
  });
});
