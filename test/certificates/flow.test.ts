/**
 * Must-show 1: the whole flow through HTTP with a real SMTP server on loopback: import, upload
 * template, configure, send, one notice per volunteer whose link works, claim, the certificate
 * arrives attached and its pixels show the name at the configured place.
 */
import { loadImage, createCanvas } from '@napi-rs/canvas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { startSmtpServer, type TestSmtpServer } from '../platform/smtp-server.js';
import { ADMIN, parseMail, seedGet, seedPost, tokenFromNotice, uploadTemplate, waitFor, whiteTemplate } from './helpers.js';

/** Dark pixels (any channel < 128) in a rectangle of an image. */
async function darkPixels(png: Buffer | Uint8Array, x0: number, y0: number, w: number, h: number): Promise<number> {
  const img = await loadImage(Buffer.from(png));
  const c = createCanvas(img.width, img.height);
  const g = c.getContext('2d');
  g.drawImage(img, 0, 0);
  const d = g.getImageData(x0, y0, w, h).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] < 128 && d[i + 1] < 128 && d[i + 2] < 128) n++;
  return n;
}

describe.each(testDialects())('certificates: the whole flow on %s', (dialect) => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ dialect, env: { SMTP_URL: smtp.url, PUBLIC_URL: 'http://vh.test' } });
    base = await t.listen();
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('imports, sends one working link each, and mails a certificate showing the name where configured', async () => {
    const imp = await seedPost(t, '/api/addUserData', {
      token: ADMIN,
      email: ['alice@example.org,NO-0001', 'Bob@Example.org', 'carol@example.org,NO-0003,Carol C', 'alice@example.org', 'not-an-email'],
    });
    expect(imp.body.code).toBe(0);
    expect(imp.body.data.added).toBe(3);
    expect(imp.body.data.duplicates).toEqual([expect.objectContaining({ lineNo: 4, email: 'alice@example.org' })]);
    expect(imp.body.data.rejected).toEqual([expect.objectContaining({ lineNo: 5, reason: expect.stringContaining('email') })]);
    // Importing again adds nothing: duplicates never make a second row.
    const again = await seedPost(t, '/api/addUserData', { token: ADMIN, email: ['bob@example.org'] });
    expect(again.body.data).toMatchObject({ added: 0, duplicates: [{ email: 'bob@example.org' }] });

    const up = await uploadTemplate(base, whiteTemplate(750, 1200));
    expect(up.body).toMatchObject({ code: 0, data: { width: 750, height: 1200, type: 'png' } });

    const cfg = await seedPost(t, '/api/updateOrgConfig', {
      token: ADMIN,
      name: 'Wuhan2020',
      website: 'https://example.org',
      name_horizontal_pos: '375',
      name_vertical_pos: 300,
      serial_number_horizontal_pos: -1,
      date_horizontal_pos: '-1',
      username: '',
      password: '',
    });
    expect(cfg.body.code).toBe(0);

    const send = await seedPost(t, '/api/email', { token: ADMIN, action: 'send' });
    expect(send.body.code).toBe(0);
    await waitFor(
      async () => {
        const q = await seedPost(t, '/api/email', { token: ADMIN, action: 'query' });
        return q.body.data.counts['1'] === 3 && q.body.data.sending === false;
      },
      20_000,
      'notices',
    );

    expect(smtp.received).toHaveLength(3);
    const notices = await Promise.all(smtp.received.map((m) => parseMail(m.raw)));
    expect(new Set(notices.map((n) => n.to?.[0]?.address))).toEqual(new Set(['alice@example.org', 'bob@example.org', 'carol@example.org']));
    for (const n of notices) {
      expect(n.messageId).toMatch(/^<notice\.\d+\.1@vh\.test>$/);
      // Every link works and opens that volunteer's own record.
      const info = await seedGet(t, `/api/getUserInfo?token=${tokenFromNotice(n.html ?? '')}`);
      expect(info.body.data.email).toBe(n.to?.[0]?.address);
    }
    const alice = notices.find((n) => n.to?.[0]?.address === 'alice@example.org')!;
    expect(alice.subject).toContain('Wuhan2020');
    const token = tokenFromNotice(alice.html ?? '')!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(alice.html).toContain(`http://vh.test/certificate?token=${token}`);

    const info = await seedGet(t, `/api/getUserInfo?token=${token}`);
    expect(info.body).toEqual({
      code: 0,
      data: { email: 'alice@example.org', name: '', Email: 'alice@example.org', Name: '' },
      message: 'success',
    });

    const sub = await seedPost(t, '/api/submitUserInfo', { token, name: '李白 Alice' });
    expect(sub.body).toEqual({ code: 0, data: null, message: 'success' });

    const certMail = await waitFor(() => smtp.received.find((m) => m.raw.includes('certificate.')), 20_000, 'certificate mail');
    const cert = await parseMail(certMail.raw);
    expect(cert.to?.[0]?.address).toBe('alice@example.org');
    expect(cert.messageId).toMatch(/^<certificate\.\d+\.1@vh\.test>$/);
    expect(cert.attachments).toHaveLength(1);
    const png = cert.attachments[0].content as ArrayBuffer;
    const buf = Buffer.from(png);
    // The name is centred on (375, 300): dark pixels there, none far below it.
    expect(await darkPixels(buf, 175, 270, 400, 60)).toBeGreaterThan(200);
    expect(await darkPixels(buf, 0, 700, 750, 400)).toBe(0);
    await waitFor(
      async () => (await seedPost(t, '/api/email', { token: ADMIN, action: 'query' })).body.data.counts['4'] === 1,
      10_000,
      'status 4',
    );

    // After the submission the link says the certificate was sent (code 3) and a resubmit changes nothing.
    expect((await seedGet(t, `/api/getUserInfo?token=${token}`)).body.code).toBe(3);
    expect((await seedPost(t, '/api/submitUserinfo', { Token: token, Name: 'Someone Else' })).body.code).toBe(3);

    // Verification page knows the certificate.
    const certId = /verify\/([A-Za-z0-9_-]+)/.exec(cert.html ?? '')?.[1];
    const v = await t.app.inject({ method: 'GET', url: `/verify/${certId}`, headers: { accept: 'application/json' } });
    expect(v.json()).toMatchObject({ name: '李白 Alice', organization: 'Wuhan2020', number: 'NO-0001' });
    const page = await t.app.inject({ method: 'GET', url: `/verify/${certId}` });
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('李白 Alice');
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^certificates_notices_sent_total \d+/m);
    expect(metrics).toMatch(/^certificates_delivered_total [1-9]/m);
    // Exactly one notice per volunteer in total.
    const all = await Promise.all(smtp.received.map((m) => parseMail(m.raw)));
    expect(all.filter((m) => m.messageId?.startsWith('<notice.'))).toHaveLength(3);
  });
});
