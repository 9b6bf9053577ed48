/**
 * Issue 17 item 3, must show: one-click unsubscribe over HTTP exactly as a provider does it (a
 * POST with `List-Unsubscribe=One-Click`, no cookies, no Origin) to the URL in the notice's
 * List-Unsubscribe header; a GET (a link scanner) unsubscribes no one; idempotent; the next send
 * and reminders skip that volunteer; the certificate they ask for still goes; counted in `query`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { startSmtpServer, type TestSmtpServer } from '../platform/smtp-server.js';
import { ADMIN, parseMail, seedPost, tokenFromNotice, uploadTemplate, waitFor, whiteTemplate } from './helpers.js';

describe.each(testDialects())('certificates: one-click unsubscribe on %s', (dialect) => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ dialect, env: { SMTP_URL: smtp.url } });
    base = await t.listen();
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });
  const auth = { authorization: `Bearer ${ADMIN}` };
  const noticesTo = async (to: string) =>
    (await Promise.all(smtp.received.filter((m) => m.to[0] === to).map((m) => parseMail(m.raw)))).filter(
      (m) => m.subject && !/证书 \/ Your/.test(m.subject),
    );

  it('unsubscribes on a provider-style POST, skips the volunteer on the next send, still mails the certificate', async () => {
    expect((await uploadTemplate(base, whiteTemplate())).body.code).toBe(0);
    expect(
      (await seedPost(t, '/api/addUserData', { token: ADMIN, email: ['stay@example.org', 'leave@example.org'] })).body.data.added,
    ).toBe(2);
    await seedPost(t, '/api/email', { token: ADMIN, action: 'send' });
    await waitFor(() => smtp.received.length >= 2, 20_000, 'two notices');
    const [notice] = await noticesTo('leave@example.org');
    const header = notice.headers.find((h) => h.key === 'list-unsubscribe')!.value;
    expect(notice.headers.find((h) => h.key === 'list-unsubscribe-post')?.value).toBe('List-Unsubscribe=One-Click');
    const url = /<(http[^>]+)>/.exec(header)![1];
    expect(url).toMatch(/\/unsubscribe\/\d+\.[A-Za-z0-9_-]{43}$/);
    const local = url.replace(/^https?:\/\/[^/]+/, base);

    // A link scanner's GET: a confirm page, nobody unsubscribed.
    const page = await fetch(local);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post"');
    expect((await seedPost(t, '/api/email', { token: ADMIN, action: 'query' })).body.data.unsubscribed).toBe(0);

    // A wrong token and a body without the one-click marker change nothing.
    expect(
      (
        await fetch(local.replace(/.{4}$/, 'AAAA'), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'List-Unsubscribe=One-Click',
        })
      ).status,
    ).toBe(404);
    expect(
      (await fetch(local, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'x=y' })).status,
    ).toBe(400);

    // The provider's POST (RFC 8058): no cookie, no Origin, urlencoded; twice (idempotent).
    for (let i = 0; i < 2; i++) {
      const res = await fetch(local, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
        redirect: 'manual',
      });
      expect(res.status).toBe(200);
    }
    // As some providers send it: multipart/form-data.
    const form = new FormData();
    form.append('List-Unsubscribe', 'One-Click');
    expect((await fetch(local, { method: 'POST', body: form })).status).toBe(200);
    const q = (await seedPost(t, '/api/email', { token: ADMIN, action: 'query' })).body.data;
    expect(q.unsubscribed).toBe(1);

    // The organizer resends everyone (reset to 0, send): only the volunteer who stayed is mailed.
    const list = (await t.app.inject({ method: 'GET', url: '/api/v2/certificates/campaigns/default/recipients', headers: auth })).json();
    const leave = list.items.find((r: { email: string }) => r.email === 'leave@example.org');
    const stay = list.items.find((r: { email: string }) => r.email === 'stay@example.org');
    expect(leave.unsubscribedAt).toBeGreaterThan(0);
    for (const r of [leave, stay])
      expect(
        (
          await t.app.inject({
            method: 'POST',
            url: `/api/v2/certificates/campaigns/default/recipients/${r.id}/reset`,
            headers: auth,
            payload: {},
          })
        ).statusCode,
      ).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/api/v2/certificates/campaigns/default/send', headers: auth })).json().toSend).toBe(
      1,
    );
    await seedPost(t, '/api/email', { token: ADMIN, action: 'send' });
    await waitFor(async () => (await noticesTo('stay@example.org')).length === 2, 20_000, 'the second notice to stay@');
    await waitFor(
      async () => (await seedPost(t, '/api/email', { token: ADMIN, action: 'query' })).body.data.sending === false,
      20_000,
      'the send to end',
    );
    expect(await noticesTo('leave@example.org')).toHaveLength(1);
    // A reminder is refused with a reason.
    const reminder = await t.app.inject({
      method: 'POST',
      url: `/api/v2/certificates/campaigns/default/recipients/${leave.id}/resend`,
      headers: auth,
      payload: {},
    });
    expect(reminder.statusCode).toBe(409);
    expect(reminder.json().code).toBe('unsubscribed');

    // The certificate the volunteer asks for still goes out.
    const token = tokenFromNotice(notice.text!)!;
    expect((await seedPost(t, '/api/submitUserInfo', { token: decodeURIComponent(token), name: '李雷' })).body.code).toBe(0);
    await waitFor(
      () => smtp.received.some((m) => m.to[0] === 'leave@example.org' && m.raw.includes('certificate.')),
      30_000,
      'the certificate',
    );
  });
});
