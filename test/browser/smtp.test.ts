/**
 * The console against a real SMTP server on loopback (smtp-server) that refuses one mailbox with
 * 550: mail settings saved through the page (the password write-only, then shown as "set" and
 * used to log in), the test email showing the server's own answer (accepted and refused), and a
 * send whose refused notice shows up under failures with the server's reason.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type Browser } from './browser.js';
import { ADMIN_TOKEN, admin, startWebApp, type WebApp } from './fixtures.js';

describe('console with a real SMTP server (Chromium)', { timeout: 120_000 }, () => {
  let app: WebApp;
  let browser: Browser;
  let page: Page;
  let smtp: SMTPServer;
  let port = 0;
  const logins: string[] = [];
  const accepted: string[] = [];

  beforeAll(async () => {
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      authOptional: true,
      logger: false,
      onAuth(auth, _session, cb) {
        logins.push(`${auth.username}:${auth.password}`);
        if (auth.password !== 'secret') return cb(new Error('535 bad credentials'));
        cb(null, { user: auth.username });
      },
      onRcptTo(address, _session, cb) {
        if (address.address.startsWith('bounce')) {
          const err = new Error('5.1.1 <bounce@example.org>: mailbox unavailable') as Error & { responseCode: number };
          err.responseCode = 550;
          return cb(err);
        }
        cb();
      },
      onData(stream, session, cb) {
        stream.resume();
        stream.on('end', () => {
          accepted.push(...session.envelope.rcptTo.map((r) => r.address));
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    port = (smtp.server.address() as AddressInfo).port;
    [app, browser] = await Promise.all([startWebApp(), launchBrowser({ locale: 'en-US' })]);
    page = await browser.newPage({ width: 1280, height: 900 });
    await page.goto(`${app.url}/admin`);
    await page.evaluate((t) => sessionStorage.setItem('vh.admin.token', t), ADMIN_TOKEN);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  });

  it('saves the SMTP account (password write-only) and reports the server answer to a test email', async () => {
    const c = await admin<{ id: number }>(app.url, 'POST', 'campaigns', { name: 'Own SMTP' });
    await page.goto(`${app.url}/admin/campaigns/${c.id}/mail`);
    await page.getByTestId('smtp-host').fill('127.0.0.1');
    await page.getByTestId('smtp-port').fill(String(port));
    await page.getByTestId('smtp-security').selectOption('none');
    await page.getByTestId('smtp-user').fill('organizer');
    await page.getByTestId('smtp-password').fill('secret');
    await page.getByTestId('smtp-from').fill('Volunteers <noreply@example.org>');
    await page.getByTestId('save-mail').click();
    await page.getByTestId('mail-saved').waitFor();
    expect(await page.getByTestId('password-state').innerText()).toContain('set: leave empty');
    expect(await page.getByTestId('smtp-password').inputValue()).toBe('');
    const stored = await admin(app.url, 'GET', `campaigns/${c.id}`);
    expect(JSON.stringify(stored)).not.toContain('secret');

    await page.getByTestId('test-to').fill('ok@example.org');
    await page.getByTestId('test-send').click();
    await expect.poll(() => page.getByTestId('test-result').innerText()).toMatch(/answered:.*250/);
    expect(accepted).toContain('ok@example.org');
    expect(logins).toContain('organizer:secret');

    await page.getByTestId('test-to').fill('bounce@example.org');
    await page.getByTestId('test-send').click();
    await expect.poll(() => page.getByTestId('test-result').innerText()).toMatch(/refused:.*550/);
    expect(await page.getByTestId('test-result').getAttribute('class')).toContain('alert-error');
    await screenshot(page, 'console-smtp-refused');

    // Notices: one accepted, one refused for good, reported with the server's reason.
    await page.getByTestId('tab-volunteers').click();
    await page.getByTestId('import-text').fill('ok@example.org\nbounce@example.org');
    await page.getByTestId('import').click();
    await page.getByTestId('import-result').waitFor();
    await page.getByTestId('tab-send').click();
    await page.getByTestId('send-start').click();
    await page.getByTestId('send-confirm-yes').click();
    await expect.poll(() => page.getByTestId('failed-count').innerText(), { timeout: 30_000 }).toBe('1');
    await expect.poll(() => page.getByTestId('count-1').innerText(), { timeout: 30_000 }).toBe('1');
    const failures = await page.getByTestId('failures').innerText();
    expect(failures).toContain('bounce@example.org');
    expect(failures).toMatch(/550|mailbox unavailable/);
    // Not "everyone has been sent a notice": one never was, and the page says what to do.
    await expect.poll(() => page.getByTestId('to-send').innerText()).toContain('1 notice failed');
    await screenshot(page, 'console-send-failures');

    await page.getByTestId('tab-volunteers').click();
    await page.getByTestId('status-filter').selectOption('failed');
    await expect.poll(() => page.getByTestId('recipient-row').count()).toBe(1);
    expect(await page.getByTestId('failure').innerText()).toMatch(/550|mailbox unavailable/);
  });
});
