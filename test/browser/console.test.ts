/**
 * The organizer's whole job in the console and the volunteer's answer through the dev mailbox, in
 * real Chromium against the real app (no SMTP_URL: mail lands in the dev mailbox): sign in,
 * create a campaign, upload a template, DRAG the name field and see the server's preview change,
 * email template, mail settings with a test email, import volunteers (added / duplicate /
 * rejected), send with confirmation and live progress, open the notice in /dev/mail, click the
 * link, claim, see the certificate mail; then row actions, export, archive, a server error
 * that leaves the page usable, and every page at phone width. Volume, pace and quota:
 * console-volume.test.ts.
 */
import type { Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type Browser } from './browser.js';
import { ADMIN_TOKEN, admin, sha256, startWebApp, templatePng, type WebApp } from './fixtures.js';

const isPreview = (r: Response) => /\/campaigns\/\d+\/preview$/.test(r.url()) && r.request().method() === 'POST';

/** The preview image the page shows: its blob: URL and the sha256 of its bytes. */
async function shownPreview(page: Page): Promise<{ src: string; hash: string }> {
  const out = await page.getByTestId('preview-image').evaluate(async (img: HTMLImageElement) => {
    const buf = await (await fetch(img.src)).arrayBuffer();
    return { src: img.src, bytes: Array.from(new Uint8Array(buf)) };
  });
  return { src: out.src, hash: sha256(Uint8Array.from(out.bytes)) };
}

/** Waits until the page shows a preview other than `src` and no render is pending. */
async function nextPreview(page: Page, src: string): Promise<{ src: string; hash: string }> {
  await expect
    .poll(
      async () =>
        (await page.getByTestId('preview-image').getAttribute('src')) !== src && (await page.locator('.preview-box.busy').count()) === 0,
      { timeout: 30_000 },
    )
    .toBe(true);
  return shownPreview(page);
}

// Generous waits: the machine is shared (2 cores) and other suites may run alongside.
describe('organizer console and dev mailbox (Chromium)', { timeout: 120_000 }, () => {
  let app: WebApp;
  let browser: Browser;
  let page: Page;
  let campaignPath = '';
  const pageErrors: string[] = [];

  beforeAll(async () => {
    [app, browser] = await Promise.all([startWebApp(), launchBrowser({ locale: 'en-US' })]);
    page = await browser.newPage({ width: 1280, height: 900 });
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('signs in with the admin token (a wrong one is refused) and creates a campaign', async () => {
    await page.goto(`${app.url}/admin`);
    await page.getByTestId('signin').waitFor();
    await page.getByTestId('token').fill('not-the-token');
    await page.getByTestId('signin-submit').click();
    expect(await page.getByTestId('signin-error').innerText()).toContain('not valid');
    await screenshot(page, 'console-signin-refused');
    await page.getByTestId('token').fill(ADMIN_TOKEN);
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('campaign-list').waitFor();
    // No SMTP_URL here: the console says, on every page, that mail goes to the dev mailbox.
    await page.getByTestId('devmail-banner').waitFor();
    expect(await page.getByTestId('devmail-banner').innerText()).toContain('mail reaches nobody');
    // Kept for the browser session only.
    expect(
      await page.evaluate(() => [sessionStorage.getItem('vh.admin.token'), localStorage.getItem('vh.admin.token'), document.cookie]),
    ).toEqual([ADMIN_TOKEN, null, '']);

    // The console speaks Chinese too.
    await page.getByTestId('lang').click();
    await page.getByText('新建活动').waitFor();
    await screenshot(page, 'console-campaigns-zh');
    await page.getByTestId('lang').click();
    await page.getByText('New campaign').waitFor();

    // Bad input is caught before sending.
    await page.getByTestId('new-name').fill('Riverside clean-up 2026');
    await page.getByTestId('new-slug').fill('Bad Slug!');
    expect(await page.getByTestId('field-error').innerText()).toContain('Lower-case');
    expect(await page.getByTestId('create').isDisabled()).toBe(false);
    await page.getByTestId('new-slug').fill('riverside-2026');
    await page.getByTestId('create').click();
    await page.waitForURL(/\/admin\/campaigns\/\d+\/template$/);
    campaignPath = new URL(page.url()).pathname.replace(/\/template$/, '');
    await expect.poll(() => page.getByTestId('campaign-name').innerText()).toContain('Riverside clean-up 2026');
    await page.getByTestId('no-template').waitFor();
  });

  it('uploads a template, drags the name field, and the server-rendered preview changes', async () => {
    // Bad files: a wrong type is caught in the page; a fake image is refused by the server, in its words.
    await page.getByTestId('template-file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    expect(await page.getByTestId('field-error').innerText()).toContain('PNG or JPEG');
    const refused = page.waitForResponse((r) => /\/template$/.test(r.url()) && r.request().method() === 'PUT');
    await page
      .getByTestId('template-file')
      .setInputFiles({ name: 'fake.png', mimeType: 'image/png', buffer: Buffer.from('not really a png') });
    const answer = await refused;
    expect(answer.status()).toBeGreaterThanOrEqual(400);
    expect(answer.status()).toBeLessThan(500);
    const serverSays = String(((await answer.json()) as { message: string }).message);
    await expect.poll(() => page.getByTestId('error').first().innerText()).toContain(serverSays);
    await page.getByTestId('no-template').waitFor();

    await page.getByTestId('template-file').setInputFiles({ name: 'template.png', mimeType: 'image/png', buffer: templatePng(800, 566) });
    await page.getByTestId('template-size').waitFor();
    expect(await page.getByTestId('template-size').innerText()).toContain('800 × 566');
    const before = await nextPreview(page, '');
    const marker = page.getByTestId('marker-name');
    await marker.waitFor();
    const x0 = Number(await page.getByTestId('field-x').inputValue());
    const y0 = Number(await page.getByTestId('field-y').inputValue());

    // Drag the name 120 px right and 80 px down on screen.
    const stage = await page.getByTestId('stage').boundingBox();
    const box = (await marker.boundingBox())!;
    const scale = stage!.width / 800;
    // Every layout the server rendered (a slow machine may render positions along the way too).
    const renderedNames: Array<{ x: number; y: number }> = [];
    const onRendered = (r: Response) => {
      if (isPreview(r) && r.status() === 200) renderedNames.push(r.request().postDataJSON().layout.name);
    };
    page.on('response', onRendered);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 60, box.y + box.height / 2 + 40, { steps: 4 });
    await page.mouse.move(box.x + box.width / 2 + 120, box.y + box.height / 2 + 80, { steps: 4 });
    await page.mouse.up();
    const x1 = Number(await page.getByTestId('field-x').inputValue());
    const y1 = Number(await page.getByTestId('field-y').inputValue());
    // Template pixels, from the displayed scale.
    expect(Math.abs(x1 - (x0 + 120 / scale))).toBeLessThanOrEqual(2);
    expect(Math.abs(y1 - (y0 + 80 / scale))).toBeLessThanOrEqual(2);
    await expect.poll(() => renderedNames.some((n) => n.x === x1 && n.y === y1), { timeout: 30_000 }).toBe(true);
    page.off('response', onRendered);
    const after = await nextPreview(page, before.src);
    expect(after.hash).not.toBe(before.hash);
    await page.getByTestId('dirty').waitFor();

    // Fine placement from the keyboard: Shift+Right moves 10 template pixels.
    await marker.focus();
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('ArrowUp');
    await expect.poll(async () => Number(await page.getByTestId('field-x').inputValue())).toBe(x1 + 10);
    expect(Number(await page.getByTestId('field-y').inputValue())).toBe(y1 - 1);
    await page.keyboard.press('Shift+ArrowLeft');
    await page.keyboard.press('ArrowDown');
    await expect.poll(async () => Number(await page.getByTestId('field-x').inputValue())).toBe(x1);

    // Bad colour is caught in the page; a long Latin sample renders.
    await page.getByTestId('field-color').fill('red');
    expect(await page.getByTestId('save-layout').isDisabled()).toBe(true);
    await page.getByTestId('field-color').fill('#1a4d8f');
    const shown = await shownPreview(page);
    const latin = page.waitForResponse(
      (r) => isPreview(r) && r.status() === 200 && r.request().postDataJSON().name.startsWith('Maximilian'),
    );
    await page.getByTestId('sample-sampleEn').click();
    await latin;
    expect((await nextPreview(page, shown.src)).hash).not.toBe(shown.hash);
    // The QR code: off until included, then placed and dragged like the name; the preview shows it.
    await page.getByTestId('select-qr').click();
    expect(await page.getByTestId('marker-qr').count()).toBe(0);
    const noQr = await shownPreview(page);
    const withQr = page.waitForResponse((r) => isPreview(r) && r.status() === 200 && r.request().postDataJSON().layout.qr.x >= 0);
    await page.getByTestId('include').check();
    await withQr;
    expect((await nextPreview(page, noQr.src)).hash).not.toBe(noQr.hash);
    const qr = page.getByTestId('marker-qr');
    const qrShown = await shownPreview(page);
    const qb = (await qr.boundingBox())!;
    const qx0 = Number(await page.getByTestId('field-x').inputValue());
    await page.mouse.move(qb.x + qb.width / 2, qb.y + qb.height / 2);
    await page.mouse.down();
    await page.mouse.move(qb.x + qb.width / 2 + 150, qb.y + qb.height / 2 + 60, { steps: 5 });
    await page.mouse.up();
    expect(Math.abs(Number(await page.getByTestId('field-x').inputValue()) - (qx0 + 150 / scale))).toBeLessThanOrEqual(2);
    expect((await nextPreview(page, qrShown.src)).hash).not.toBe(qrShown.hash);

    await page.getByTestId('save-layout').click();
    await page.getByTestId('layout-saved').waitFor();
    await screenshot(page, 'console-template-editor');

    const saved = await (
      await fetch(`${app.url}/api/v2/certificates/campaigns/${campaignPath.split('/').pop()}`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json();
    expect(saved.layout.name).toMatchObject({ x: x1, y: y1, color: '#1a4d8f' });
    expect(saved.layout.qr.x).toBeGreaterThan(400);
  });

  it('asks before leaving the template editor with an unsaved layout', async () => {
    await page.getByTestId('select-name').click();
    const marker = page.getByTestId('marker-name');
    await marker.focus();
    await page.keyboard.press('ArrowRight');
    await page.getByTestId('dirty').waitFor();
    let asked = '';
    page.once('dialog', (d) => {
      asked = d.message();
      void d.dismiss();
    });
    await page.getByTestId('tab-emails').click();
    await expect.poll(() => asked).toContain('unsaved');
    expect(page.url()).toMatch(/\/template$/);
    // Moved back: nothing to lose, no question.
    await marker.focus();
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => page.getByTestId('dirty').count()).toBe(0);
  });

  it('edits the notice email with placeholders and previews it', async () => {
    await page.getByTestId('tab-emails').click();
    await page.waitForURL(/\/emails$/);
    await page.getByTestId('mail-subject').fill('Your certificate from {{organization}}, {{name}}');
    await page.getByTestId('save-emails').click();
    await page.getByTestId('emails-saved').waitFor();
    await expect.poll(() => page.getByTestId('preview-subject').innerText()).toMatch(/^Your certificate from/);
    expect(await page.getByTestId('preview-subject').innerText()).not.toContain('{{');
    // The body preview follows the typing, placeholders filled in by the server.
    await page.getByTestId('mail-body').fill('<p>Hello {{name}},</p><p>your link: </p>');
    await page.getByTestId('mail-body').press('End');
    await page.getByTestId('ph-link').click();
    expect(await page.getByTestId('mail-body').inputValue()).toContain('your link: </p>{{link}}');
    const body = page.frameLocator('[data-testid="preview-html"]').locator('body');
    await expect.poll(() => body.innerText()).toContain('Hello ');
    expect(await body.innerText()).not.toContain('{{');
    await screenshot(page, 'console-email-templates');
  });

  it('checks mail settings in the page and sends a test email showing the server answer', async () => {
    await page.getByTestId('tab-mail').click();
    expect(await page.getByTestId('password-state').innerText()).toContain('not set');
    await page.getByTestId('smtp-port').fill('99999');
    expect(await page.getByTestId('field-error').first().innerText()).toContain('whole number');
    expect(await page.getByTestId('save-mail').isDisabled()).toBe(true);
    await page.getByTestId('smtp-port').fill('');
    await page.getByTestId('daily').fill('500');
    await page.getByTestId('save-mail').click();
    await page.getByTestId('mail-saved').waitFor();
    await page.getByTestId('test-to').fill('organizer@example');
    expect(await page.getByTestId('test-send').isDisabled()).toBe(true);
    await page.getByTestId('test-to').fill('organizer@example.org');
    await page.getByTestId('test-send').click();
    const result = page.getByTestId('test-result');
    await result.waitFor();
    expect(await result.innerText()).toMatch(/250/);
    await screenshot(page, 'console-mail-settings');
  });

  it('imports volunteers and reports added, duplicate and rejected lines', async () => {
    await page.getByTestId('tab-volunteers').click();
    // A CSV file gets a preview first (its header line is not counted as a volunteer); cancelled, nothing is stored.
    await page.getByTestId('import-file').setInputFiles({
      name: 'volunteers.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('email,number,name\r\ncsv@example.org,NO-9,Csv Person\r\n'),
    });
    await page.getByTestId('import-preview').waitFor();
    expect(await page.getByTestId('will-add').innerText()).toBe('1 will be added');
    expect(await page.getByTestId('import-mapping').innerText()).toContain('Csv Person');
    await page.getByTestId('import-preview').getByRole('button', { name: 'Cancel' }).click();
    // A header and a blank line: line numbers stay those of the box, in the page's check and the server's answer.
    await page
      .getByTestId('import-text')
      .fill(
        ['email,number,name', 'me@example.org,NO-0001', '', 'friend@example.org,NO-0002,Friend Lee', 'ME@example.org', 'not-an-email'].join(
          '\n',
        ),
      );
    await page.getByTestId('local-problems').waitFor();
    expect(await page.getByTestId('local-problems').innerText()).toContain('line 6');
    expect(await page.getByTestId('import').innerText()).toContain('Import 4 lines');
    await page.getByTestId('import').click();
    await page.getByTestId('import-result').waitFor();
    expect(await page.getByTestId('added').innerText()).toContain('2 added');
    expect(await page.getByTestId('duplicates').innerText()).toContain('1');
    expect(await page.getByTestId('rejected').innerText()).toContain('1');
    expect(await page.getByTestId('rejected-list').innerText()).toMatch(/line 6 not-an-email/);
    expect(await page.getByTestId('duplicate-list').innerText()).toMatch(/line 5 me@example\.org/);
    await expect.poll(() => page.getByTestId('recipient-row').count()).toBe(2);
    await page.getByTestId('search').fill('friend');
    await expect.poll(() => page.getByTestId('recipient-row').count()).toBe(1);
    await page.getByTestId('search').fill('');
    await expect.poll(() => page.getByTestId('recipient-row').count()).toBe(2);
    await screenshot(page, 'console-volunteers-import');
  });

  it('sends after a confirmation naming the count, with live progress', async () => {
    await page.getByTestId('tab-send').click();
    expect(await page.getByTestId('to-send').innerText()).toContain('2 volunteers');
    await page.getByTestId('send-start').click();
    expect(await page.getByTestId('send-confirm').innerText()).toContain('Send 2 notices?');
    await page.getByTestId('send-confirm-yes').click();
    await page.getByTestId('queued').waitFor();
    await expect.poll(() => page.getByTestId('count-1').innerText(), { timeout: 30_000 }).toBe('2');
    expect(await page.getByTestId('progress-mode').innerText()).toContain('live');
    expect(await page.getByTestId('quota').innerText()).toMatch(/500/);
    await screenshot(page, 'console-send-progress');
  });

  it('the volunteer opens the notice in the dev mailbox, claims, and the certificate arrives', async () => {
    const mail = await browser.newPage({ width: 1200, height: 900 });
    await mail.goto(`${app.url}/dev/mail`);
    // A new tab has no console session: the mailbox asks for the admin token (it holds every link).
    await mail.getByTestId('token-form').waitFor();
    await screenshot(mail, 'devmail-token');
    await mail.getByTestId('token').fill(ADMIN_TOKEN);
    await mail.getByTestId('token-submit').click();
    const notice = mail.getByTestId('mail-item').filter({ hasText: 'to me@example.org' }).first();
    await notice.waitFor();
    await notice.click();
    const frame = mail.frameLocator('[data-testid="mail-html"]');
    const link = frame.locator('a[href*="/certificate?token="]').first();
    await link.waitFor();
    await screenshot(mail, 'devmail-notice');
    const [claim] = await Promise.all([browser.context.waitForEvent('page'), link.click()]);
    await claim.getByTestId('screen-form').waitFor();
    expect(await claim.getByTestId('email').inputValue()).toBe('me@example.org');
    await claim.getByTestId('name').fill('Mei Chen 陈美');
    await claim.waitForResponse(
      (r) => r.url().endsWith('/claim/preview') && r.status() === 200 && r.request().postDataJSON().name === 'Mei Chen 陈美',
    );
    await claim.getByTestId('submit').click();
    await claim.getByTestId('screen-success').waitFor();
    await screenshot(claim, 'claim-success-desktop-en');
    await claim.close();

    // The certificate mail: attachment shown as an image.
    await mail
      .getByTestId('mail-item')
      .filter({ hasText: 'to me@example.org' })
      .filter({ has: mail.getByTestId('attachment-count') })
      .first()
      .waitFor({ timeout: 20_000 });
    await mail
      .getByTestId('mail-item')
      .filter({ has: mail.getByTestId('attachment-count') })
      .first()
      .click();
    const img = mail.getByTestId('attachment-image');
    await img.waitFor();
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBe(800);
    await screenshot(mail, 'devmail-certificate');
    await mail.close();
  });

  it('shows the volunteer table with statuses, row actions and export', async () => {
    await page.getByTestId('tab-volunteers').click();
    const row = page.getByTestId('recipient-row').filter({ hasText: 'me@example.org' }).filter({ hasNotText: 'friend' });
    await expect.poll(async () => (await row.innerText()).includes('Mei Chen'), { timeout: 30_000 }).toBe(true);
    await page.getByTestId('status-filter').selectOption('1');
    await expect.poll(() => page.getByTestId('recipient-row').count()).toBe(1);
    await page.getByTestId('resend').first().click();
    expect(await page.getByTestId('row-notice').innerText()).toContain('friend@example.org');
    // Reset asks first, then the volunteer is back to "imported" (their link stops working).
    const friend = page.getByTestId('recipient-row').filter({ hasText: 'friend@example.org' });
    page.once('dialog', (d) => void d.accept());
    await friend.getByTestId('reset').click();
    await expect.poll(() => page.getByTestId('row-notice').innerText()).toContain('back to “imported”');
    expect(await friend.innerText()).toContain('Imported');
    await page.getByTestId('status-filter').selectOption('');
    const [certificate] = await Promise.all([browser.context.waitForEvent('page'), row.getByTestId('view').click()]);
    await certificate.waitForURL(/^blob:/);
    await certificate.close();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
    expect(download.suggestedFilename()).toBe('riverside-2026-volunteers.csv');
  });

  it('prints and downloads certificates, revokes one with a reason (its page says so), mails a new link on request, sets a logo', async () => {
    await page.getByTestId('tab-volunteers').click();
    const row = page.getByTestId('recipient-row').filter({ hasText: 'me@example.org' }).filter({ hasNotText: 'friend' });
    await expect.poll(() => row.getByTestId('cert-state').innerText()).toContain('Valid');
    await row.getByTestId('select').check();
    const [pdf] = await Promise.all([page.waitForEvent('download'), page.getByTestId('print').click()]);
    expect(pdf.suggestedFilename()).toBe('riverside-2026-print.pdf');
    const [zip] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-zip').click()]);
    expect(zip.suggestedFilename()).toBe('riverside-2026-certificates.zip');
    // Revoking asks for the reason; the row and the certificate page then show it.
    page.once('dialog', (d) => void d.accept('Wrong event'));
    await row.getByTestId('revoke').click();
    await expect.poll(() => row.getByTestId('cert-state').innerText()).toContain('Revoked');
    expect(await row.getByTestId('cert-state').innerText()).toContain('Wrong event');
    await screenshot(page, 'console-volunteers-revoked');
    const href = (await row.getByTestId('cert-state').locator('a').getAttribute('href'))!;
    const verify = await browser.newPage({ width: 360, height: 800 });
    await verify.goto(`${app.url}${href}?lang=en`);
    expect(await verify.getByTestId('status').innerText()).toMatch(/Revoked on \d{4}-\d{2}-\d{2}: Wrong event/);
    await verify.close();
    // A new link is its own, explained action.
    const friend = page.getByTestId('recipient-row').filter({ hasText: 'friend@example.org' });
    let asked = '';
    page.once('dialog', (d) => {
      asked = d.message();
      void d.accept();
    });
    await friend.getByTestId('new-link').click();
    await expect.poll(() => page.getByTestId('row-notice').innerText()).toContain('A new link was sent to friend@example.org');
    expect(asked).toContain('stops working');
    // A column beyond email/number/name becomes a field placed on the template like the name.
    await page.getByTestId('import-text').fill(['email,number,name,role', 'role@example.org,NO-7,Role Person,Team lead'].join('\n'));
    await page.getByTestId('import').click();
    await expect.poll(() => page.getByTestId('added').innerText()).toContain('1 added');
    await page.getByTestId('tab-template').click();
    await page.getByTestId('select-f:role').click();
    await page.getByTestId('include').check();
    await page.getByTestId('marker-f:role').waitFor();
    expect(await page.getByTestId('marker-f:role').innerText()).toBe('role');
    await page.getByTestId('save-layout').click();
    await page.getByTestId('layout-saved').waitFor();
    const saved = await admin(app.url, 'GET', 'campaigns/riverside-2026');
    expect(saved.layout.fields.role).toMatchObject({ x: expect.any(Number), y: expect.any(Number) });
    expect(saved.layout.fields.role.x).toBeGreaterThanOrEqual(0);
    await screenshot(page, 'console-template-custom-field');
    // The issuer logo.
    await page.getByTestId('tab-settings').click();
    await page.getByTestId('logo-file').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: templatePng(120, 120) });
    await expect
      .poll(() => page.getByTestId('logo-preview').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth))
      .toBe(120);
    await screenshot(page, 'console-settings-logo');
  });

  it('keeps the page usable when the server fails, and archives the campaign', async () => {
    await page.route('**/api/v2/certificates/campaigns/*', (route) =>
      route.request().method() === 'GET'
        ? route.fulfill({
            status: 500,
            contentType: 'application/json',
            body: '{"code":"internal","message":"internal error (request x)"}',
          })
        : route.continue(),
    );
    await page.goto(`${app.url}${campaignPath}/settings`);
    const err = page.getByTestId('error').first();
    await err.waitFor();
    expect(await err.innerText()).toContain('server failed');
    await screenshot(page, 'console-server-error');
    await page.unroute('**/api/v2/certificates/campaigns/*');
    await page.getByTestId('retry').first().click();
    await page.getByTestId('set-name').waitFor();

    await page.getByTestId('archive').click();
    await expect.poll(() => page.getByTestId('archive').innerText()).toContain('Restore');
    await page.goto(`${app.url}/admin`);
    await page.getByTestId('campaign-list').waitFor();
    expect(await page.getByTestId('campaign-item').filter({ hasText: 'Riverside' }).count()).toBe(0);
    await page.getByTestId('show-archived').check();
    await page.getByTestId('campaign-item').filter({ hasText: 'Riverside' }).waitFor();

    // Input only the server can judge: a short id already taken is refused in its words, nothing created.
    const before = await page.getByTestId('campaign-item').count();
    await page.getByTestId('new-name').fill('Riverside again');
    await page.getByTestId('new-slug').fill('riverside-2026');
    await page.getByTestId('create').click();
    await expect.poll(() => page.getByTestId('error').first().innerText()).toContain('exists already');
    expect(page.url()).toMatch(/\/admin\/?$/);
    await page.reload();
    await page.getByTestId('show-archived').check();
    await expect.poll(() => page.getByTestId('campaign-item').count()).toBe(before);
  });

  it('fits a phone: every console page at 360 px, in Chinese, without sideways scrolling', async () => {
    const phone = await browser.newPage({ width: 360, height: 740 });
    phone.on('pageerror', (err) => pageErrors.push(err.message));
    await phone.goto(`${app.url}/admin`);
    await phone.evaluate((t) => sessionStorage.setItem('vh.admin.token', t), ADMIN_TOKEN);
    // In Chinese this time (the switch's choice is remembered), so the screenshots show both languages.
    await phone.evaluate(() => localStorage.setItem('vh.lang', 'zh'));
    const id = campaignPath.split('/').pop();
    for (const [path, ready, shot] of [
      ['/admin', 'campaign-list', 'console-campaigns-phone'],
      [`/admin/campaigns/${id}/template`, 'preview-image', 'console-template-phone'],
      [`/admin/campaigns/${id}/volunteers`, 'recipient-row', 'console-volunteers-phone'],
      [`/admin/campaigns/${id}/send`, 'counts', 'console-send-phone'],
      [`/admin/campaigns/${id}/mail`, 'smtp-host', 'console-mail-phone'],
      [`/admin/campaigns/${id}/emails`, 'preview-html', 'console-emails-phone'],
      ['/dev/mail', 'mail-item', 'devmail-phone'],
    ] as const) {
      await phone.goto(`${app.url}${path}`);
      await phone.getByTestId(ready).first().waitFor();
      // Wide tables scroll inside their own box; the page itself never does.
      expect(await phone.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(360);
      if (path.startsWith('/admin')) expect(await phone.locator('html').getAttribute('lang')).toBe('zh-CN');
      await screenshot(phone, shot);
    }
    await phone.evaluate(() => localStorage.setItem('vh.lang', 'en'));
    await phone.close();
  });

  it('raised no uncaught error in any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
