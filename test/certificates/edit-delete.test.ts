/**
 * Issue 14 item 1: correcting and removing volunteers through the v2 API. Edit email (a new notice
 * only on request, with a new link for someone mailed before), name and number (a certificate
 * holder's certificate is reissued), delete one and many; deleting a certificate holder needs a
 * choice, and a kept certificate still verifies while a revoked one says why. Real SMTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { startSmtpServer, type TestSmtpServer } from '../platform/smtp-server.js';
import { parseMail, tokenFromNotice, waitFor, v2Api, V2 as P } from './helpers.js';

describe.each(testDialects())('editing and deleting volunteers on %s', (dialect) => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  const api = v2Api(() => t);
  const byEmail = async (email: string) =>
    (await api('GET', `/campaigns/ed/recipients?q=${encodeURIComponent(email)}`))
      .json()
      .items.find((r: { email: string }) => r.email === email);

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ dialect, env: { SMTP_URL: smtp.url, PUBLIC_URL: 'http://vh.test' } });
    await api('POST', '/campaigns', { name: 'Edit test', slug: 'ed' });
    await api('POST', '/campaigns/ed/recipients', {
      lines: [
        'a@example.org,E-1,Anna',
        'b@example.org,E-2,Bo',
        'c@example.org,E-3,Cai',
        'd@example.org,E-4,Dai',
        'typo@exmaple.org,E-5,Eve',
      ],
    });
    // a and b claim their certificates.
    await api('POST', '/campaigns/ed/send');
    await waitFor(async () => (await api('GET', '/campaigns/ed/progress')).json().counts['1'] === 5, 20_000, 'notices');
    for (const m of await Promise.all(smtp.received.map((x) => parseMail(x.raw)))) {
      const to = m.to?.[0]?.address;
      if (to !== 'a@example.org' && to !== 'b@example.org') continue;
      const res = await t.app.inject({
        method: 'POST',
        url: `${P}/claim`,
        payload: { token: tokenFromNotice(m.html ?? ''), name: to === 'a@example.org' ? 'Anna' : 'Bo' },
      });
      expect(res.statusCode, res.body).toBe(200);
    }
    await waitFor(async () => (await api('GET', '/campaigns/ed/progress')).json().counts['4'] === 2, 30_000, 'certificates');
  }, 90_000);
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('corrects a mistyped email; mails the new address a NEW link only when asked', async () => {
    const r = await byEmail('typo@exmaple.org');
    const before = smtp.received.length;
    const quiet = await api('PATCH', `/campaigns/ed/recipients/${r.id}`, { email: 'Eve@Example.org' });
    expect(quiet.status, quiet.res.body).toBe(200);
    expect(quiet.json()).toMatchObject({ email: 'eve@example.org', notified: false, reissued: false });
    expect(smtp.received.length).toBe(before);
    const oldToken = tokenFromNotice(
      (await Promise.all(smtp.received.map((x) => parseMail(x.raw)))).find((m) => m.to?.[0]?.address === 'typo@exmaple.org')!.html ?? '',
    )!;
    // Back to the typo and again, this time with a notice: the new address gets a new link.
    await api('PATCH', `/campaigns/ed/recipients/${r.id}`, { email: 'typo@exmaple.org' });
    const loud = await api('PATCH', `/campaigns/ed/recipients/${r.id}`, { email: 'eve@example.org', notify: true });
    expect(loud.json()).toMatchObject({ email: 'eve@example.org', notified: true });
    await waitFor(() => smtp.received.length > before, 10_000, 'the notice to the new address');
    const mail = await parseMail(smtp.received[smtp.received.length - 1].raw);
    expect(mail.to?.[0]?.address).toBe('eve@example.org');
    const newToken = tokenFromNotice(mail.html ?? '')!;
    expect(newToken).not.toBe(oldToken);
    // The link mailed to the wrong address no longer works; the new one does.
    expect((await t.app.inject({ method: 'GET', url: `${P}/claim?token=${oldToken}` })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: `${P}/claim?token=${newToken}` })).json()).toMatchObject({ email: 'eve@example.org' });
  });

  it('refuses a taken or invalid email, a markup name, and notify without an email change, changing nothing', async () => {
    const r = await byEmail('c@example.org');
    const taken = await api('PATCH', `/campaigns/ed/recipients/${r.id}`, { email: 'D@example.org', name: 'Changed' });
    expect(taken.status).toBe(409);
    expect(taken.json()).toMatchObject({ code: 'email_taken' });
    expect((await api('PATCH', `/campaigns/ed/recipients/${r.id}`, { email: 'not-an-address' })).json()).toMatchObject({
      code: 'bad_request',
      field: 'email',
    });
    expect((await api('PATCH', `/campaigns/ed/recipients/${r.id}`, { name: '<script>' })).status).toBe(422);
    expect((await api('PATCH', `/campaigns/ed/recipients/${r.id}`, { notify: true })).status).toBe(400);
    expect((await api('PATCH', `/campaigns/ed/recipients/${r.id}`, { bogus: 1 })).status).toBe(400);
    expect((await api('PATCH', `/campaigns/ed/recipients/999999`, { name: 'X' })).status).toBe(404);
    expect(await byEmail('c@example.org')).toMatchObject({ name: 'Cai', number: 'E-3' });
  });

  it('edits number and name of a volunteer without a certificate in place', async () => {
    const r = await byEmail('c@example.org');
    const out = await api('PATCH', `/campaigns/ed/recipients/${r.id}`, { name: '  蔡 明 ', number: 'WH2026-005' });
    expect(out.json()).toMatchObject({ name: '蔡 明', number: 'WH2026-005', reissued: false, certificate: null });
    expect((await api('PATCH', `/campaigns/ed/recipients/${r.id}`, { number: '' })).json().number).toBeNull();
  });

  it("reissues a certificate holder's certificate when the name changes; the old one says superseded", async () => {
    const r = await byEmail('a@example.org');
    const oldId = r.certificateId;
    const out = await api('PATCH', `/campaigns/ed/recipients/${r.id}`, { name: 'Anna Li' });
    expect(out.json()).toMatchObject({ name: 'Anna Li', reissued: true, certificate: { status: 'valid', name: 'Anna Li' } });
    expect(out.json().certificateId).not.toBe(oldId);
    expect((await t.app.inject({ method: 'GET', url: `${P}/verify/${oldId}` })).json()).toMatchObject({
      status: 'revoked',
      revocationReason: 'superseded',
    });
  });

  it('deletes a certificate holder only with a choice: keep leaves it verifiable, revoke says why', async () => {
    const a = await byEmail('a@example.org');
    const b = await byEmail('b@example.org');
    const ask = await api('DELETE', `/campaigns/ed/recipients/${a.id}`);
    expect(ask.status).toBe(409);
    expect(ask.json()).toMatchObject({ code: 'certificate_issued', recipientIds: [a.id] });
    expect(await byEmail('a@example.org')).toBeDefined();
    const kept = await api('DELETE', `/campaigns/ed/recipients/${a.id}?certificate=keep`);
    expect(kept.json()).toEqual({ deleted: 1, certificatesKept: 1, certificatesRevoked: 0, missing: [] });
    expect(await byEmail('a@example.org')).toBeUndefined();
    expect((await t.app.inject({ method: 'GET', url: `/verify/${a.certificateId}` })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: `${P}/verify/${a.certificateId}` })).json()).toMatchObject({
      status: 'valid',
      name: 'Anna Li',
    });
    // Many at once, all or nothing: b holds a certificate, so without a choice nobody goes.
    const d = await byEmail('d@example.org');
    const many = await api('POST', '/campaigns/ed/recipients/delete', { ids: [b.id, d.id, 999999] });
    expect(many.status).toBe(409);
    expect(await byEmail('d@example.org')).toBeDefined();
    const gone = await api('POST', '/campaigns/ed/recipients/delete', {
      ids: [b.id, d.id, 999999],
      certificate: 'revoke',
      reason: 'did not attend',
    });
    expect(gone.json()).toEqual({ deleted: 2, certificatesKept: 0, certificatesRevoked: 1, missing: [999999] });
    expect((await t.app.inject({ method: 'GET', url: `${P}/verify/${b.certificateId}` })).json()).toMatchObject({
      status: 'revoked',
      revocationReason: 'did not attend',
    });
    expect(
      (await api('GET', '/campaigns/ed/recipients'))
        .json()
        .items.map((r: { email: string }) => r.email)
        .sort(),
    ).toEqual(['c@example.org', 'eve@example.org']);
    expect((await api('POST', '/campaigns/ed/recipients/delete', { ids: [] })).status).toBe(400);
  });

  it('lists the new routes in the OpenAPI page', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(doc.paths[`${P}/campaigns/{id}/recipients/{rid}`].patch).toBeDefined();
    expect(doc.paths[`${P}/campaigns/{id}/recipients/{rid}`].delete).toBeDefined();
    expect(doc.paths[`${P}/campaigns/{id}/recipients/delete`].post).toBeDefined();
  });
});
