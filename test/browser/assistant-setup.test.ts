/**
 * The register page on servers set up differently, in real Chromium at phone width: no platform
 * official account configured (said in words, no broken image), and WeChat refusing to make the
 * QR code (its refusal shown, and WeChat not asked again on every visit). The browser is Chinese:
 * the pages follow its language.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type Browser } from './browser.js';
import { startFakeWechat } from '../helpers/fake-wechat.js';
import { fitsWidth, mpEnv, PHONE, startAssistantApp } from './assistant-fixtures.js';

describe('assistant register page on other server set-ups (Chromium, phone width)', { timeout: 120_000 }, () => {
  let browser: Browser;
  beforeAll(async () => {
    // A Chinese browser: the pages speak Chinese without being told.
    browser = await launchBrowser({ locale: 'zh-CN' });
  });
  afterAll(async () => browser?.close());

  it('says so when this server has no official account', async () => {
    const fake = await startFakeWechat();
    const other = await startAssistantApp({ WECHAT_API_BASE: fake.url });
    try {
      const p = await browser.newPage(PHONE);
      await p.goto(`${other.url}/assistant/register`);
      await expect.poll(() => p.getByTestId('not-configured').innerText()).toBe('本服务器尚未配置公众号，无法发送验证码。请联系管理员。');
      expect(await p.evaluate(() => [document.documentElement.lang, localStorage.getItem('vh.lang')])).toEqual(['zh-CN', null]);
      expect(await p.getByTestId('platform-qr').count()).toBe(0);
      await fitsWidth(p);
      await screenshot(p, 'assistant-register-unconfigured');
      // Signed in or not, no QR code is asked of WeChat.
      expect(fake.requests).toEqual([]);
      await p.close();
    } finally {
      await other.t.close();
      await fake.close();
    }
  });

  it("shows WeChat's refusal in words when the QR cannot be made, without asking WeChat on every visit", async () => {
    const broken = await startFakeWechat(); // answers every call with errcode 40001
    const other = await startAssistantApp(mpEnv(broken.url));
    try {
      const p = await browser.newPage(PHONE);
      await p.goto(`${other.url}/assistant/register`);
      await expect.poll(() => p.getByTestId('qr-error').innerText()).toMatch(/^二维码加载失败：WeChat did not make the QR code/);
      await fitsWidth(p);
      await screenshot(p, 'assistant-register-wechat-down');
      const calls = broken.requests.length;
      expect(calls).toBeGreaterThan(0);
      await p.reload();
      await expect.poll(() => p.getByTestId('qr-error').innerText()).toContain('WeChat did not make the QR code');
      const direct = await fetch(`${other.url}/api/v2/autoreply/platform/qr.png`);
      expect([direct.status, (await direct.json()).code]).toEqual([502, 'wechat_failed']);
      expect(broken.requests.length).toBe(calls);
      // The rest of the page still works: the form is there and checks its input.
      await p.getByTestId('reg-submit').click();
      expect(await p.getByTestId('field-error').count()).toBe(4);
      await p.close();
    } finally {
      await other.t.close();
      await broken.close();
    }
  });
});
