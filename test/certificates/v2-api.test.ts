/**
 * The v2 REST API as the organizer console and the claim page use it: campaigns, template,
 * preview, recipients (paging, prefix search, CSV), resend/reset, progress (JSON and SSE), mail
 * preview and test, the claim endpoints and verification. Real SMTP on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { startSmtpServer, type TestSmtpServer } from '../platform/smtp-server.js';
import { parseMail, tokenFromNotice, waitFor, whiteTemplate, v2Api, V2 as P, adminAuth as auth } from './helpers.js';

describe.each(testDialects())('certificates v2 API on %s', (dialect) => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let base: string;
  const api = v2Api(() => t);
  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ dialect, env: { SMTP_URL: smtp.url, PUBLIC_URL: 'http://vh.test' } });
    base = await t.listen();
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('creates, configures, lists and archives campaigns; never returns the SMTP password', async () => {
    expect((await api('GET', '/session')).json()).toEqual({ ok: true, mail: 'smtp' });
    const c = await api('POST', '/campaigns', { name: 'Spring 2026', slug: 'spring' });
    expect(c.status).toBe(201);
    expect(c.json()).toMatchObject({ slug: 'spring', archived: false, sending: 'idle', template: null, counts: { '0': 0, failed: 0 } });
    expect((await api('POST', '/campaigns', { name: 'again', slug: 'spring' })).status).toBe(409);
    // Without a typed slug, a name that derives a taken one still makes a campaign.
    const twin = await api('POST', '/campaigns', { name: 'Spring' });
    expect(twin.status).toBe(201);
    expect(twin.json().slug).toMatch(/^spring-[0-9a-f]{6}$/);
    const p = await api('PATCH', '/campaigns/spring', {
      organization: 'Org',
      layout: { name: { x: 100, color: '#123456' } },
      mail: { subject: 'Hi {{name}}', smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', password: 's3cret-pass' } },
    });
    expect(p.status).toBe(200);
    expect(p.json().layout.name).toMatchObject({ x: 100, color: '#123456', align: 'center' });
    expect(p.json().mail.smtp).toMatchObject({ host: '127.0.0.1', passwordSet: true });
    expect(JSON.stringify(p.json())).not.toContain('s3cret-pass');
    const row = await t.core.db.selectFrom('campaigns').select('smtp_password').where('slug', '=', 'spring').executeTakeFirstOrThrow();
    expect(row.smtp_password).not.toContain('s3cret-pass');
    // Plain SMTP (no TLS) only for a server on this machine: a password never crosses a network in clear.
    const plain = await api('PATCH', '/campaigns/spring', { mail: { smtp: { host: 'smtp.example.org' } } });
    expect(plain.status).toBe(400);
    expect(plain.json().message).toMatch(/no TLS/);
    expect((await api('POST', '/campaigns/spring/archive')).json().archived).toBe(true);
    expect((await api('GET', '/campaigns?archived=true')).json().campaigns.map((x: { slug: string }) => x.slug)).toEqual(['spring']);
    // An archived campaign mails nothing until it is unarchived.
    const refused = await api('POST', '/campaigns/spring/send');
    expect(refused.status).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'archived' });
    expect(refused.json().message).toMatch(/unarchive/);
    expect((await api('GET', '/campaigns/spring')).json().sending).toBe('idle');
    expect((await api('POST', '/campaigns/spring/unarchive')).json().archived).toBe(false);
  });

  it('stores the template, renders previews with unsaved layouts, previews the mail template escaped', async () => {
    const form = new FormData();
    form.append('template', new Blob([new Uint8Array(whiteTemplate(600, 400))]), 'x.bin');
    const put = await fetch(`${base}${P}/campaigns/spring/template`, { method: 'PUT', body: form, headers: auth });
    expect(await put.json()).toEqual({ width: 600, height: 400, type: 'png' });
    const get = await api('GET', '/campaigns/spring/template');
    expect(get.res.headers['content-type']).toBe('image/png');
    const prev = await api('POST', '/campaigns/spring/preview', { name: 'Preview Name', layout: { name: { x: 300, y: 200 } } });
    expect(prev.status).toBe(200);
    expect(prev.res.rawPayload.subarray(1, 4).toString()).toBe('PNG');
    expect((await api('POST', '/campaigns/spring/preview', { name: '<b>' })).status).toBe(422);
    const mp = (await api('POST', '/campaigns/spring/mail/preview', { subject: 'For {{name}}', body: '<p>{{name}} {{link}}</p>' })).json();
    expect(mp.subject).toContain('Sample Name');
    expect(mp.html).toContain('?token=SAMPLE-TOKEN');
    // Placeholder values are escaped in the HTML body.
    await api('PATCH', '/campaigns/spring', { organization: '<i>Org</i>' });
    const esc = (await api('POST', '/campaigns/spring/mail/preview', { body: '<p>{{organization}}</p>' })).json();
    expect(esc.html).toBe('<p>&lt;i&gt;Org&lt;/i&gt;</p>');
    await api('PATCH', '/campaigns/spring', { organization: 'Org' });
  });

  it('imports, pages, searches by email prefix and exports CSV', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => `user${String(i).padStart(2, '0')}@example.org,N${i}`);
    const imp = await api('POST', '/campaigns/spring/recipients', { lines: [...lines, '=cmd@example.org,=1+2', 'bad line'] });
    expect(imp.json()).toMatchObject({ added: 31, rejected: [{ lineNo: 32 }] });
    const page2 = (await api('GET', '/campaigns/spring/recipients?page=2&limit=10')).json();
    expect(page2).toMatchObject({ total: 31, page: 2, limit: 10 });
    expect(page2.items).toHaveLength(10);
    expect(page2.items[0].email).toBe('user10@example.org');
    const found = (await api('GET', '/campaigns/spring/recipients?q=USER2')).json();
    expect(found.items.map((r: { email: string }) => r.email)).toEqual(Array.from({ length: 10 }, (_, i) => `user2${i}@example.org`));
    expect((await api('GET', '/campaigns/spring/recipients?q=user_')).json().total).toBe(0);
    const csv = await api('GET', '/campaigns/spring/recipients.csv');
    expect(csv.res.headers['content-type']).toContain('text/csv');
    const rows = csv.res.body.trim().split('\n');
    expect(rows[0]).toBe('email,number,name,status,failure,certificate_id');
    expect(rows).toHaveLength(32);
    // A formula-looking cell is neutralised for spreadsheets.
    expect(rows.find((r) => r.includes('cmd@'))).toContain("'=1+2");
  });

  it('sends, streams progress, reminds with the same link, makes a new link on request, resets without breaking the certificate, and serves the claim flow', async () => {
    expect((await api('GET', '/campaigns/spring/send')).json()).toEqual({ toSend: 31 });
    // SSE: the first event arrives at once.
    const ctrl = new AbortController();
    const sse = await fetch(`${base}${P}/campaigns/spring/progress/stream`, { headers: auth, signal: ctrl.signal });
    expect(sse.headers.get('content-type')).toContain('text/event-stream');
    const reader = sse.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^event: progress\ndata: \{"counts"/);
    ctrl.abort();
    expect((await api('POST', '/campaigns/spring/send')).json()).toEqual({ queued: 31 });
    await waitFor(async () => (await api('GET', '/campaigns/spring/progress')).json().counts['1'] === 31, 20_000, 'notices');
    const mails = await Promise.all(smtp.received.map((m) => parseMail(m.raw)));
    const first00 = mails.find((m) => m.to?.[0]?.address === 'user00@example.org')!;
    expect(first00.subject).toBe('Hi user00');
    const oldToken = tokenFromNotice(first00.html ?? '')!;

    const rec = (await api('GET', '/campaigns/spring/recipients?q=user00')).json().items[0];
    // A reminder (resend) carries the SAME link: the earlier email keeps working.
    const resent = await api('POST', `/campaigns/spring/recipients/${rec.id}/resend`);
    expect(resent.json()).toMatchObject({ noticeCount: 2, status: 1 });
    const second = await parseMail(smtp.received[smtp.received.length - 1].raw);
    expect(second.messageId).toBe(`<notice.${rec.id}.2@vh.test>`);
    expect(tokenFromNotice(second.html ?? '')).toBe(oldToken);
    expect((await t.app.inject({ method: 'GET', url: `${P}/claim?token=${oldToken}` })).statusCode).toBe(200);
    // A new link is its own action: the old link stops working, the new one works.
    const renewed = await api('POST', `/campaigns/spring/recipients/${rec.id}/new-link`);
    expect(renewed.json()).toMatchObject({ noticeCount: 3, status: 1 });
    const third = await parseMail(smtp.received[smtp.received.length - 1].raw);
    expect(third.messageId).toBe(`<notice.${rec.id}.3@vh.test>`);
    const newToken = tokenFromNotice(third.html ?? '')!;
    expect(newToken).not.toBe(oldToken);
    expect((await t.app.inject({ method: 'GET', url: `${P}/claim?token=${oldToken}` })).statusCode).toBe(404);
    const info = await t.app.inject({ method: 'GET', url: `${P}/claim?token=${newToken}` });
    expect(info.json()).toMatchObject({
      email: 'user00@example.org',
      status: 1,
      claimed: false,
      organization: 'Org',
      campaignName: 'Spring 2026',
    });

    const pv = await t.app.inject({ method: 'POST', url: `${P}/claim/preview`, payload: { token: newToken, name: '王五' } });
    expect(pv.headers['content-type']).toBe('image/jpeg');
    const claim = await t.app.inject({ method: 'POST', url: `${P}/claim`, payload: { token: newToken, name: '王五' } });
    expect(claim.json()).toMatchObject({ status: 2, downloadUrl: expect.stringContaining('/claim/download?token=') });
    const dl = await t.app.inject({ method: 'GET', url: `${P}/claim/download?token=${newToken}` });
    expect(dl.headers['content-type']).toBe('image/png');
    await waitFor(async () => (await api('GET', `/campaigns/spring/recipients?q=user00`)).json().items[0].status === 4, 20_000, 'delivery');
    const certId = (await api('GET', `/campaigns/spring/recipients?q=user00`)).json().items[0].certificateId;
    expect((await t.app.inject({ method: 'GET', url: `${P}/verify/${certId}` })).json()).toMatchObject({
      name: '王五',
      campaign: 'Spring 2026',
    });
    expect((await t.app.inject({ method: 'GET', url: `/verify/nope-nope-nope` })).statusCode).toBe(404);
    // Re-rendered on demand for the organizer too.
    expect((await api('GET', `/campaigns/spring/recipients/${rec.id}/certificate`)).res.headers['content-type']).toBe('image/png');

    // Reset keeps what the volunteer holds: the mailed certificate still verifies (not 404), the
    // link still opens, and the next send mails that same link again.
    const reset = await api('POST', `/campaigns/spring/recipients/${rec.id}/reset`);
    expect(reset.json()).toMatchObject({ status: 0, failure: null, certificate: { id: certId, status: 'valid' } });
    expect((await t.app.inject({ method: 'GET', url: `/verify/${certId}` })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: `${P}/verify/${certId}` })).json()).toMatchObject({ name: '王五', status: 'valid' });
    expect((await t.app.inject({ method: 'GET', url: `${P}/claim?token=${newToken}` })).statusCode).toBe(200);
    expect((await api('GET', '/campaigns/spring/send')).json()).toEqual({ toSend: 1 });
    const before = smtp.received.length;
    await api('POST', '/campaigns/spring/send');
    await waitFor(() => smtp.received.length > before, 20_000, 'the notice after the reset');
    expect(tokenFromNotice((await parseMail(smtp.received[smtp.received.length - 1].raw)).html ?? '')).toBe(newToken);
  });

  it('lists every route in the OpenAPI page', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    for (const path of [
      '/api/getUserInfo',
      '/api/submitUserinfo',
      '/api/addUserData',
      '/api/uploadImage',
      '/api/updateOrgConfig',
      '/api/email',
      `${P}/campaigns/{id}/progress/stream`,
      `${P}/claim`,
      '/verify/{certificateId}',
      '/verify/{certificateId}.json',
      '/verify/{certificateId}.png',
      '/verify/{certificateId}.pdf',
      '/verify/{certificateId}/preview.jpg',
      '/.well-known/jwks.json',
      '/issuers/{campaignId}',
      '/issuers/{campaignId}/logo',
      '/issuers/{campaignId}/achievement',
      '/issuers/{campaignId}/status/{list}',
      `${P}/campaigns/{id}/recipients/{rid}/revoke`,
      `${P}/campaigns/{id}/recipients/{rid}/reissue`,
      `${P}/campaigns/{id}/recipients/{rid}/new-link`,
      `${P}/campaigns/{id}/recipients/{rid}/credentials`,
      `${P}/campaigns/{id}/logo`,
      `${P}/campaigns/{id}/certificates.zip`,
      `${P}/campaigns/{id}/certificates/print`,
      `${P}/keys/rotate`,
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
  });

  it('sends a test message through the campaign account, and reports the server answer on failure', async () => {
    const ok = await api('POST', '/campaigns/spring/mail/test', { to: 'me@example.org' });
    expect(ok.json()).toMatchObject({ ok: true, response: expect.stringContaining('Ok') });
    await api('PATCH', '/campaigns/spring', { mail: { smtp: { port: 1 } } });
    const bad = await api('POST', '/campaigns/spring/mail/test', { to: 'me@example.org' });
    expect(bad.status).toBe(502);
    expect(bad.json().code).toBe('smtp_error');
  });
});
