/**
 * The member pages (`/accounts/*`) in real Chromium at phone width (375 px) against the real app,
 * mail through the dev mailbox (no SMTP_URL): register (local checks, a common password refused)
 * -> log in before activation (told so, resend) -> the activation mail's link -> "not now" /
 * "activate" -> the used link refused -> log in -> address book (add with a bad phone first, add,
 * edit, set default, delete) -> change password (wrong old one first; logged out after) -> forgot
 * password in three steps (wrong code, resend timer, new code, ticket, new password) -> log in
 * with it -> failures said in words -> rate limits -> the pages in Chinese (switch, and a Chinese
 * browser at 360 px). Screenshots of each page go to test-output/screenshots/.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type Browser } from './browser.js';
import { ADMIN_TOKEN, startWebApp, waitForMail, type DevMail, type WebApp } from './fixtures.js';

const WIDTH = 375;
const USER = 'mia_lee';
const EMAIL = 'mia@example.org';
const PW1 = 'lanterns over the river';
const PW2 = 'paper boats at midnight';
const PW3 = 'kites above the old wall';

const addressOf = (m: DevMail) => m.to.replace(/^.*<|>$/g, '').toLowerCase();

/** The text of a dev-mailbox message. */
async function mailText(base: string, id: number): Promise<string> {
  const m = (await (await fetch(`${base}/api/v2/dev/mail/${id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
    html: string | null;
    text: string | null;
  };
  return `${m.text ?? ''}\n${m.html ?? ''}`;
}

/** The newest mail to `to` whose subject matches, once `count` of them exist. */
async function newestMail(base: string, subject: RegExp, count: number): Promise<string> {
  const mails = await waitForMail(base, (m) => addressOf(m) === EMAIL && subject.test(m.subject), count);
  const newest = mails.reduce((a, b) => (b.id > a.id ? b : a));
  return mailText(base, newest.id);
}

async function cards(page: Page): Promise<string[]> {
  return page.getByTestId('addr-card').evaluateAll((els) => els.map((e) => (e as HTMLElement).innerText.replace(/\s+/g, ' ').trim()));
}

describe('member account pages at phone width (Chromium)', { timeout: 120_000 }, () => {
  let app: WebApp;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let activationLink = '';

  beforeAll(async () => {
    [app, browser] = await Promise.all([startWebApp(), launchBrowser({ locale: 'en-US' })]);
    page = await browser.newPage({ width: WIDTH, height: 800 });
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('registers: checks fields in the page, shows the server refusing a common password, then says to check the mail', async () => {
    await page.goto(`${app.url}/accounts/register`);
    await page.getByTestId('register').waitFor();
    await page.getByTestId('reg-submit').click();
    // Nothing sent: every field says what is missing.
    expect(await page.getByTestId('reg-username-error').innerText()).toBe('Required.');
    expect(await page.getByTestId('reg-email-error').innerText()).toBe('Required.');
    await page.getByTestId('reg-username').fill('x');
    await page.getByTestId('reg-email').fill('not-an-email');
    await page.getByTestId('reg-password1').fill('short');
    await page.getByTestId('reg-password2').fill('other');
    expect(await page.getByTestId('reg-username-error').innerText()).toContain('3 to 30');
    expect(await page.getByTestId('reg-email-error').innerText()).toBe('Not a valid email address.');
    expect(await page.getByTestId('reg-password1-error').innerText()).toBe('At least 8 characters.');
    expect(await page.getByTestId('reg-password2-error').innerText()).toBe('The two passwords differ.');
    await screenshot(page, 'accounts-register-invalid');

    // Passes the page's checks, refused by the server's strength check (zxcvbn): the reason in words.
    await page.getByTestId('reg-username').fill(USER);
    await page.getByTestId('reg-email').fill(EMAIL);
    await page.getByTestId('reg-password1').fill('aaaaaaaa');
    await page.getByTestId('reg-password2').fill('aaaaaaaa');
    await page.getByTestId('reg-submit').click();
    expect(await page.getByTestId('error').innerText()).toMatch(
      /^This password is too easy to guess\. Repeated characters like "aaa" are easy to guess/,
    );
    await screenshot(page, 'accounts-register-weak-password');

    await page.getByTestId('reg-password1').fill(PW1);
    await page.getByTestId('reg-password2').fill(PW1);
    await page.getByTestId('reg-submit').click();
    await page.getByTestId('register-sent').waitFor();
    expect(await page.getByTestId('register-sent').innerText()).toContain(EMAIL);
    // "Send the link again" uses the registration's session.
    await page.getByTestId('register-resend').click();
    await page.getByTestId('register-resent').waitFor();
    await screenshot(page, 'accounts-register-sent');
    await newestMail(app.url, /activate/i, 2);
    // Not a member yet (issue 14, item 9): the navigation offers log in / register, no member links.
    expect(await page.getByTestId('nav-login').count()).toBe(1);
    expect(await page.getByTestId('nav-register').count()).toBe(1);
    expect(await page.getByTestId('nav-address').count()).toBe(0);
    expect(await page.getByTestId('logout').count()).toBe(0);
    expect(await page.getByTestId('who').count()).toBe(0);
    // The address book sends to log in until the account is activated.
    await page.goto(`${app.url}/accounts/address`);
    await page.getByTestId('login').waitFor();
  });

  it('refuses to log in before activation, says so, and offers a new link', async () => {
    await page.goto(`${app.url}/accounts/login`);
    await page.getByTestId('login-name').fill(USER);
    await page.getByTestId('login-password').fill(PW1);
    await page.getByTestId('login-submit').click();
    expect(await page.getByTestId('login-inactive').innerText()).toContain('not activated yet');
    await page.getByTestId('login-resend').click();
    await page.getByTestId('login-resent').waitFor();
    await screenshot(page, 'accounts-login-inactive');
    const text = await newestMail(app.url, /activate/i, 3);
    const found = /https?:\/\/[^\s"<>]+\/accounts\/active\?code=[A-Za-z0-9_-]+/.exec(text);
    expect(found, text).not.toBeNull();
    activationLink = found![0];
    expect(activationLink.startsWith(app.url)).toBe(true);
  });

  it('activates from the mail link: "not now" changes nothing, "activate" does, and the used link is refused', async () => {
    await page.goto(activationLink);
    await page.getByTestId('activate').waitFor();
    await screenshot(page, 'accounts-active-ask');
    await page.getByTestId('not-now').click();
    await page.getByTestId('later').waitFor();
    // Still inactive on the server.
    const early = await (
      await fetch(`${app.url}/v1/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: USER, password: PW1 }),
      })
    ).json();
    expect(early.code).toBe(10104);
    await page.getByTestId('changed-mind').click();
    await page.getByTestId('activate').click();
    await page.getByTestId('activated').waitFor();
    // The browser that registered holds a session: it is offered the address book, not a log-in.
    await page.getByTestId('to-addresses').waitFor();
    await screenshot(page, 'accounts-active-done');

    // The same link again: already active, log in (not "expired"; issue 14, item 9).
    await page.goto(activationLink);
    await page.getByTestId('activate').click();
    expect(await page.getByTestId('already-active').innerText()).toContain('already active');
    expect(await page.getByTestId('error').count()).toBe(0);
    await screenshot(page, 'accounts-active-already');

    // A link that leads nowhere offers a new one by email, checked in the page first.
    await page.goto(`${app.url}/accounts/active?code=${'Z'.repeat(43)}`);
    await page.getByTestId('activate').click();
    expect(await page.getByTestId('error').innerText()).toContain('expired or was already used');
    await page.getByTestId('active-email').fill('nope');
    await page.getByTestId('active-resend').click();
    expect(await page.getByTestId('active-email-error').innerText()).toBe('Not a valid email address.');
    await page.getByTestId('active-email').fill(EMAIL);
    await page.getByTestId('active-resend').click();
    await page.getByTestId('active-sent').waitFor();
    await screenshot(page, 'accounts-active-dead');

    await page.goto(`${app.url}/accounts/active`);
    await page.getByTestId('missing').waitFor();
  });

  it('keeps the registration session once activated, logs out, and logs in again (wrong password said in words)', async () => {
    // This browser registered: after activation its session opens the address book directly.
    await page.goto(`${app.url}/accounts/address`);
    await page.getByTestId('addr-empty').waitFor();
    await page.getByTestId('logout').click();
    await page.getByTestId('login').waitFor();
    // Not logged in: the address book sends to log in, and back after.
    await page.goto(`${app.url}/accounts/address`);
    await page.getByTestId('login').waitFor();
    expect(page.url()).toContain('next=');
    await page.getByTestId('login-name').fill(EMAIL);
    await page.getByTestId('login-password').fill('not my password at all');
    await page.getByTestId('login-submit').click();
    expect(await page.getByTestId('error').innerText()).toBe('Wrong username/email or password.');
    await screenshot(page, 'accounts-login-wrong');
    await page.getByTestId('login-password').fill(PW1);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('addr-empty').waitFor();
    expect(new URL(page.url()).pathname).toBe('/accounts/address');
    expect(await page.getByTestId('who').innerText()).toContain(USER);
    await screenshot(page, 'accounts-address-empty');
  });

  it('adds, edits, sets the default and deletes addresses', async () => {
    // A bad phone and postcode are caught in the page; nothing is sent.
    await page.getByTestId('addr-add').click();
    await page.getByTestId('addr-receiver').fill('王小明');
    await page.getByTestId('addr-phone').fill('123');
    await page.getByTestId('addr-address').fill('北京市东城区珠市口大街珍贝大厦2楼');
    await page.getByTestId('addr-postcode').fill('ab');
    await page.getByTestId('tag-Home').click();
    await page.getByTestId('addr-save').click();
    expect(await page.getByTestId('addr-phone-error').innerText()).toContain('Not a valid phone number');
    expect(await page.getByTestId('addr-postcode-error').innerText()).toContain('A postcode has 3 to 10');
    await screenshot(page, 'accounts-address-invalid');
    await page.getByTestId('addr-phone').fill('18667018590');
    await page.getByTestId('addr-postcode').fill('100006');
    await page.getByTestId('addr-save').click();
    await page.getByTestId('addr-flash').waitFor();
    expect(await page.getByTestId('addr-flash').innerText()).toBe('Address added.');
    expect(await page.getByTestId('addr-default').count()).toBe(1);

    await page.getByTestId('addr-add').click();
    await page.getByTestId('addr-receiver').fill('Li Lei');
    await page.getByTestId('addr-phone').fill('13912345678');
    await page.getByTestId('addr-address').fill('广东省深圳市龙华区民治大道100号');
    await page.getByTestId('addr-postcode').fill('518131');
    await page.getByTestId('tag-Work').click();
    await page.getByTestId('addr-save').click();
    await expect.poll(() => page.getByTestId('addr-card').count()).toBe(2);
    expect(await page.getByTestId('addr-count').innerText()).toBe('2 of 20');
    // The first stays the default (listed first).
    expect((await cards(page))[0]).toContain('王小明');

    // Edit the second: the form comes filled in.
    const second = page.getByTestId('addr-card').filter({ hasText: 'Li Lei' });
    await second.getByTestId('addr-edit').click();
    expect(await page.getByTestId('addr-receiver').inputValue()).toBe('Li Lei');
    await page.getByTestId('addr-receiver').fill('韩梅梅');
    await page.getByTestId('addr-save').click();
    await expect.poll(async () => (await cards(page)).join(' | ')).toContain('韩梅梅');
    expect(await page.getByTestId('addr-flash').innerText()).toBe('Address saved.');
    await screenshot(page, 'accounts-address-two');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(WIDTH);

    // Set the second as default: exactly one default, and it is listed first.
    await page.getByTestId('addr-card').filter({ hasText: '韩梅梅' }).getByTestId('addr-make-default').click();
    await expect.poll(async () => (await cards(page))[0]).toContain('韩梅梅');
    expect(await page.getByTestId('addr-default').count()).toBe(1);
    expect(await page.getByTestId('addr-card').filter({ hasText: '韩梅梅' }).getByTestId('addr-default').count()).toBe(1);

    // Delete the default: asks first; the other one becomes the default.
    await page.getByTestId('addr-card').filter({ hasText: '韩梅梅' }).getByTestId('addr-delete').click();
    await page.getByTestId('addr-confirm').waitFor();
    await screenshot(page, 'accounts-address-confirm-delete');
    await page.getByTestId('addr-confirm-yes').click();
    await expect.poll(() => page.getByTestId('addr-card').count()).toBe(1);
    expect(await page.getByTestId('addr-flash').innerText()).toBe('Address deleted.');
    expect((await cards(page))[0]).toContain('王小明');
    expect(await page.getByTestId('addr-default').count()).toBe(1);
    await screenshot(page, 'accounts-address-after-delete');
  });

  it('changes the password (a wrong old one is refused), then asks to log in again', async () => {
    await page.getByTestId('nav-password').click();
    await page.getByTestId('password').waitFor();
    await page.getByTestId('pw-old').fill('not the old password');
    await page.getByTestId('pw-new1').fill(PW2);
    await page.getByTestId('pw-new2').fill(PW2);
    await page.getByTestId('pw-submit').click();
    expect(await page.getByTestId('error').innerText()).toBe('The old password is wrong.');
    await page.getByTestId('pw-old').fill(PW1);
    await page.getByTestId('pw-new2').fill(`${PW2}!`);
    await page.getByTestId('pw-submit').click();
    expect(await page.getByTestId('pw-new2-error').innerText()).toBe('The two passwords differ.');
    await page.getByTestId('pw-new2').fill(PW2);
    await screenshot(page, 'accounts-password');
    await page.getByTestId('pw-submit').click();
    await page.getByTestId('login-notice').waitFor();
    expect(await page.getByTestId('login-notice').innerText()).toContain('password was changed');
    expect(await page.getByTestId('nav-login').count()).toBe(1);
    await newestMail(app.url, /password was changed/i, 1);
    await screenshot(page, 'accounts-password-changed');
  });

  it('recovers the password in three steps: wrong code, resend timer, new code, new password', async () => {
    // The page's timers run on a clock the test can move (the resend timer counts 60 s).
    await page.clock.install();
    await page.reload();
    await page.getByTestId('to-forgot').click();
    await page.getByTestId('forgot-1').waitFor();
    await page.getByTestId('forgot-email').fill('mia@');
    await page.getByTestId('forgot-send').click();
    expect(await page.getByTestId('forgot-email-error').innerText()).toBe('Not a valid email address.');
    await page.getByTestId('forgot-email').fill(EMAIL);
    await screenshot(page, 'accounts-forgot-1');
    await page.getByTestId('forgot-send').click();
    await page.getByTestId('forgot-2').waitFor();
    const first = /\b(\d{6})\b/.exec(await newestMail(app.url, /recovery code/i, 1))![1];

    // The resend button counts down.
    expect(await page.getByTestId('forgot-resend').innerText()).toMatch(/New code in \d+ s/);
    expect(await page.getByTestId('forgot-resend').isDisabled()).toBe(true);
    await page.getByTestId('forgot-code').fill('12');
    await page.getByTestId('forgot-verify').click();
    expect(await page.getByTestId('forgot-code-error').innerText()).toBe('The code has 6 digits.');
    await page.getByTestId('forgot-code').fill(first === '000000' ? '111111' : '000000');
    await page.getByTestId('forgot-verify').click();
    expect(await page.getByTestId('forgot-wrong').innerText()).toBe('Wrong code: 4 tries left.');
    await screenshot(page, 'accounts-forgot-2');

    // Past the timer (the page's clock is fast-forwarded), a new code replaces the old one.
    await page.clock.runFor(61_000);
    await expect.poll(() => page.getByTestId('forgot-resend').isDisabled()).toBe(false);
    expect(await page.getByTestId('forgot-resend').innerText()).toBe('Send a new code');
    await page.getByTestId('forgot-resend').click();
    const second = /\b(\d{6})\b/.exec(await newestMail(app.url, /recovery code/i, 2))![1];
    await page.getByTestId('forgot-code').fill(second);
    await page.getByTestId('forgot-verify').click();
    await page.getByTestId('forgot-3').waitFor();
    await page.getByTestId('forgot-password1').fill(PW3);
    await page.getByTestId('forgot-password2').fill('mismatch here!');
    await page.getByTestId('forgot-save').click();
    expect(await page.getByTestId('forgot-password2-error').innerText()).toBe('The two passwords differ.');
    await page.getByTestId('forgot-password2').fill(PW3);
    await screenshot(page, 'accounts-forgot-3');
    await page.getByTestId('forgot-save').click();
    await page.getByTestId('forgot-done').waitFor();
    await screenshot(page, 'accounts-forgot-done');

    await page.getByTestId('forgot-login').click();
    await page.getByTestId('login-name').fill(USER);
    await page.getByTestId('login-password').fill(PW2);
    await page.getByTestId('login-submit').click();
    expect(await page.getByTestId('error').innerText()).toBe('Wrong username/email or password.');
    await page.getByTestId('login-password').fill(PW3);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('addr-card').first().waitFor();
  });

  it('says a failed request in words with a retry, and the retry works (never blank, never stuck)', async () => {
    // The network drops the address list once: the page says so and offers a retry.
    let dropped = 0;
    await page.route('**/v1/users/*/address', async (route) => {
      if (dropped++ === 0) return route.abort('connectionreset');
      return route.continue();
    });
    await page.goto(`${app.url}/accounts/address`);
    expect(await page.getByTestId('error').innerText()).toContain('Could not reach the server. Check the connection and try again.');
    await screenshot(page, 'accounts-address-network-error');
    await page.getByTestId('retry').click();
    await page.getByTestId('addr-card').first().waitFor();
    await page.unroute('**/v1/users/*/address');

    // A server failure on a write keeps the form and what was typed, and says what happened.
    await page.route('**/v1/users/*/address', (route) =>
      route.request().method() === 'POST' ? route.fulfill({ status: 502, body: 'Bad gateway' }) : route.continue(),
    );
    await page.getByTestId('addr-add').click();
    await page.getByTestId('addr-receiver').fill('赵六');
    await page.getByTestId('addr-phone').fill('13800138000');
    await page.getByTestId('addr-address').fill('上海市黄浦区南京东路1号');
    await page.getByTestId('addr-postcode').fill('200001');
    await page.getByTestId('addr-tag').fill('家');
    await page.getByTestId('addr-save').click();
    expect(await page.getByTestId('address-form').getByTestId('error').innerText()).toBe(
      'The server failed (HTTP 502). Try again in a moment.',
    );
    expect(await page.getByTestId('addr-receiver').inputValue()).toBe('赵六');
    await page.unroute('**/v1/users/*/address');
    await page.getByTestId('addr-save').click();
    await expect.poll(() => page.getByTestId('addr-card').count()).toBe(2);

    // A page's code that cannot be loaded is said, with a reload, instead of an empty page.
    await page.route('**/web/assets/Password-*.js', (route) => route.abort('connectionreset'));
    await page.getByTestId('nav-password').click();
    expect(await page.getByTestId('global-error').innerText()).toContain('Part of this page could not be loaded');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(WIDTH);
    await screenshot(page, 'accounts-chunk-error');
    await page.unroute('**/web/assets/Password-*.js');

    // A session revoked elsewhere sends to log in with a word on why, and back after.
    const token = await page.evaluate(() => JSON.parse(localStorage.getItem('vh.accounts.session') ?? '{}').token as string);
    await fetch(`${app.url}/v1/tokens`, { method: 'DELETE', headers: { authorization: token } });
    await page.reload();
    expect(await page.getByTestId('login-notice').innerText()).toBe('Your session has ended. Log in again.');
    await page.getByTestId('login-name').fill(USER);
    await page.getByTestId('login-password').fill(PW3);
    await page.getByTestId('login-submit').click();
    // Generous: logging in runs argon2id, which queues behind other suites' hashing on a busy machine.
    await expect.poll(() => page.getByTestId('addr-card').count(), { timeout: 20_000 }).toBe(2);
    expect(new URL(page.url()).pathname).toBe('/accounts/address');
  });

  it('says when recovery codes are rate limited, and the timer follows the server', async () => {
    // Five codes for one address use up its allowance (the same for any address, known or not).
    const email = 'nobody@example.org';
    for (let i = 0; i < 5; i++) {
      const r = await (
        await fetch(`${app.url}/v1/users/password/sms`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email }),
        })
      ).json();
      expect(r.code).toBe(200);
    }
    await page.goto(`${app.url}/accounts/forgot`);
    await page.getByTestId('forgot-email').fill(email);
    await page.getByTestId('forgot-send').click();
    expect(await page.getByTestId('error').innerText()).toBe('Too many attempts. Try again in 15 min.');
    expect(await page.getByTestId('forgot-send').isDisabled()).toBe(true);
    expect(await page.getByTestId('forgot-send').innerText()).toMatch(/^New code in 1[45] min$/);
    await screenshot(page, 'accounts-forgot-limited');
    await page.getByTestId('nav-address').click();
    await page.getByTestId('addr-card').first().waitFor();
  });

  it('shows the pages in Chinese after the switch, and logs out', async () => {
    await page.getByTestId('lang').click();
    await expect.poll(() => page.getByTestId('nav-address').innerText()).toBe('收货地址');
    expect(await page.getByTestId('addr-add').innerText()).toContain('新增地址');
    expect(await page.getByTestId('addr-default').innerText()).toBe('默认');
    await page.getByTestId('addr-add').click();
    await page.getByTestId('addr-save').click();
    expect(await page.getByTestId('addr-receiver-error').innerText()).toBe('必填。');
    await screenshot(page, 'accounts-address-zh');
    await page.getByTestId('addr-cancel').click();
    // The choice is remembered across loads.
    await page.reload();
    await expect.poll(() => page.getByTestId('nav-address').innerText()).toBe('收货地址');

    await page.getByTestId('logout').click();
    await page.getByTestId('login').waitFor();
    expect(await page.getByTestId('login-submit').innerText()).toBe('登录');
    await screenshot(page, 'accounts-login-zh');
    await page.getByTestId('nav-register').click();
    await page.getByTestId('register').waitFor();
    await screenshot(page, 'accounts-register-zh');
    // Logged out on the server too: the address book sends back to log in.
    await page.goto(`${app.url}/accounts/address`);
    await page.getByTestId('login').waitFor();
    expect(pageErrors).toEqual([]);
  });

  it('follows a Chinese browser without any saved choice, at 360 px', async () => {
    const zh = await launchBrowser({ locale: 'zh-CN' });
    try {
      const p = await zh.newPage({ width: 360, height: 740 });
      await p.goto(`${app.url}/accounts/forgot`);
      await p.getByTestId('forgot-1').waitFor();
      expect(await p.getByTestId('forgot-send').innerText()).toBe('发送验证码');
      await p.getByTestId('forgot-send').click();
      expect(await p.getByTestId('forgot-email-error').innerText()).toBe('必填。');
      expect(await p.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
      // Nothing wider than the phone: no sideways scrolling.
      expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
      await screenshot(p, 'accounts-forgot-zh-360');
    } finally {
      await zh.close();
    }
  });
});
