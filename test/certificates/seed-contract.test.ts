/**
 * The seed API exactly as the two seed documents write it: both versions' spellings, the
 * `Email`/`Name` aliases, admin calls answering code 1 with a clear message, updateOrgConfig as
 * the original (empty fields leave values, `username` -> smtp.<domain>, the password stored sealed
 * and never returned, the claim page address from a foreign `Referer` with admin -> index), the
 * `query` answer's shape, the optional `campaign` field on every endpoint, and PDF as a campaign's
 * output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/platform/crypto/tokens.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { startSmtpServer, type TestSmtpServer } from '../platform/smtp-server.js';
import {
  ADMIN,
  parseMail,
  seedGet,
  seedPost,
  tokenFromNotice,
  uploadTemplate,
  waitFor,
  whiteTemplate,
  adminAuth as auth,
} from './helpers.js';

describe.each(testDialects())('certificates: the seed API as written, on %s', (dialect) => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let base: string;

  /** Gives a volunteer a link token the way the send job does (hash stored, status 1). */
  async function link(email: string, token: string): Promise<void> {
    await t.core.db
      .updateTable('recipients')
      .set({ token_hash: hashToken(token), status: 1 })
      .where('email', '=', email)
      .execute();
  }
  const campaign = async (ref: string) =>
    (await t.app.inject({ method: 'GET', url: `/api/v2/certificates/campaigns/${ref}`, headers: auth })).json();

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ dialect, env: { SMTP_URL: smtp.url, PUBLIC_URL: 'http://vh.test' } });
    base = await t.listen();
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('getUserInfo answers both spellings; both submit paths take both spellings', async () => {
    const imp = await seedPost(t, '/api/addUserData', {
      token: ADMIN,
      email: ['one@example.org,NO-1,Carol Chen', 'two@example.org', 'three@example.org'],
    });
    expect(imp.body).toMatchObject({ code: 0, data: { added: 3, duplicates: [], rejected: [] } });
    await link('one@example.org', 'token-one-0123456789');
    await link('two@example.org', 'token-two-0123456789');
    await link('three@example.org', 'token-three-0123456789');

    // The name imported with the line is what the page shows first.
    const info = await seedGet(t, '/api/getUserInfo?token=token-one-0123456789');
    expect(info.body).toEqual({
      code: 0,
      data: { email: 'one@example.org', name: 'Carol Chen', Email: 'one@example.org', Name: 'Carol Chen' },
      message: 'success',
    });

    // First version: /api/submitUserinfo with {Token, Name}.
    expect((await seedPost(t, '/api/submitUserinfo', { Token: 'token-one-0123456789', Name: '陈 Carol' })).body).toEqual({
      code: 0,
      data: null,
      message: 'success',
    });
    // Current: /api/submitUserInfo with {token, name}; and the spellings crossed over.
    expect((await seedPost(t, '/api/submitUserInfo', { token: 'token-two-0123456789', name: 'Two' })).body.code).toBe(0);
    expect((await seedPost(t, '/api/submitUserInfo', { Token: 'token-three-0123456789', Name: 'Three' })).body.code).toBe(0);
    const rows = await t.core.db.selectFrom('recipients').select(['email', 'name', 'status']).orderBy('id').execute();
    expect(rows.map((r) => [r.email, r.name, r.status >= 2])).toEqual([
      ['one@example.org', '陈 Carol', true],
      ['two@example.org', 'Two', true],
      ['three@example.org', 'Three', true],
    ]);

    // After the submission: code 3, saying truly where the certificate is (sent, or on its way).
    const after = await seedGet(t, '/api/getUserInfo?token=token-one-0123456789');
    expect(after.body.code).toBe(3);
    expect(after.body.message).toMatch(/already sent|being made and mailed/);
    // Unknown token: code 2; a submission without a name: code 1 naming the field.
    expect((await seedGet(t, '/api/getUserInfo?token=no-such-token-at-all')).body).toMatchObject({
      code: 2,
      data: null,
      message: expect.stringContaining('user not in server'),
    });
    await seedPost(t, '/api/addUserData', { token: ADMIN, email: ['four@example.org'] });
    await link('four@example.org', 'token-four-0123456789');
    const noName = await seedPost(t, '/api/submitUserInfo', { token: 'token-four-0123456789' });
    expect(noName.body.code).toBe(1);
    expect(noName.body.message).toMatch(/name/);
    // Let the three certificates go out before later tests change the campaign's SMTP account.
    await waitFor(
      async () => (await seedPost(t, '/api/email', { token: ADMIN, action: 'query' })).body.data.counts['4'] === 3,
      30_000,
      'certificates',
    );
  });

  it('answers admin calls with a wrong or missing token with code 1 and a clear message', async () => {
    let n = 0;
    // A fresh client address per call: this test is about the answer, not the rate limit.
    const from = () => `10.9.0.${++n}`;
    const post = async (url: string, body: unknown) =>
      (
        await t.app.inject({
          method: 'POST',
          url,
          remoteAddress: from(),
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        })
      ).json();
    for (const url of ['/api/addUserData', '/api/updateOrgConfig', '/api/email']) {
      const wrong = await post(url, { token: 'not-the-admin-token', email: ['x@example.org'], action: 'query', name: 'x' });
      expect(wrong, url).toEqual({ code: 1, data: null, message: 'wrong admin token' });
      const missing = await post(url, { token: '', email: ['x@example.org'], action: 'query' });
      expect(missing, url).toEqual({ code: 1, data: null, message: 'admin token missing' });
    }
    const up = await uploadTemplate(base, whiteTemplate(100, 100), 'not-the-admin-token');
    expect(up.body).toEqual({ code: 1, data: null, message: 'wrong admin token' });
    expect(await t.core.db.selectFrom('recipients').select('email').where('email', '=', 'x@example.org').execute()).toEqual([]);
  });

  it('updateOrgConfig: username -> smtp.<domain>, password sealed and never returned, empty fields leave values', async () => {
    const referer = 'https://community.example.org/zh-cn/certification/admin.html?from=menu#top';
    const res = await seedPost(
      t,
      '/api/updateOrgConfig',
      {
        token: ADMIN,
        name: '武汉2020',
        website: 'https://wuhan2020.example.org',
        name_horizontal_pos: '375',
        name_vertical_pos: 300,
        serial_number_horizontal_pos: '-1',
        serial_number_vertical_pos: '50',
        date_horizontal_pos: 500,
        date_vertical_pos: '1100',
        username: 'Organizer@163.com',
        password: 'pw-Secret-123',
      },
      { referer },
    );
    expect(res.body).toEqual({ code: 0, data: null, message: 'success' });
    const c = await campaign('default');
    expect(c).toMatchObject({
      organization: '武汉2020',
      website: 'https://wuhan2020.example.org',
      claimUrl: 'https://community.example.org/zh-cn/certification/index.html',
      layout: { name: { x: 375, y: 300 }, number: { x: -1, y: 50 }, date: { x: 500, y: 1100 } },
      mail: { smtp: { host: 'smtp.163.com', port: 465, security: 'tls', user: 'Organizer@163.com', passwordSet: true } },
    });
    const stored = await t.core.db.selectFrom('campaigns').select('smtp_password').where('slug', '=', 'default').executeTakeFirstOrThrow();
    expect(stored.smtp_password).not.toContain('pw-Secret-123');
    expect(t.core.secrets.open(stored.smtp_password!)).toBe('pw-Secret-123');
    // No answer anywhere carries the password.
    for (const url of [
      '/api/v2/certificates/campaigns',
      '/api/v2/certificates/campaigns/default',
      '/api/v2/certificates/campaigns/default/progress',
    ]) {
      expect((await t.app.inject({ method: 'GET', url, headers: auth })).body, url).not.toContain('pw-Secret');
    }
    expect(JSON.stringify((await seedPost(t, '/api/email', { token: ADMIN, action: 'query' })).body)).not.toContain('pw-Secret');

    // The original's form posts every field; empty ones leave the stored values as they are.
    const empty = await seedPost(t, '/api/updateOrgConfig', {
      token: ADMIN,
      name: '',
      website: '',
      name_horizontal_pos: '',
      name_vertical_pos: '',
      serial_number_horizontal_pos: '',
      serial_number_vertical_pos: '',
      date_horizontal_pos: '',
      date_vertical_pos: '',
      username: '',
      password: '',
    });
    expect(empty.body.code).toBe(0);
    const same = await campaign('default');
    expect(same).toMatchObject({
      organization: c.organization,
      website: c.website,
      claimUrl: c.claimUrl,
      layout: c.layout,
      mail: { smtp: c.mail.smtp },
    });
    const still = await t.core.db.selectFrom('campaigns').select('smtp_password').where('slug', '=', 'default').executeTakeFirstOrThrow();
    expect(t.core.secrets.open(still.smtp_password!)).toBe('pw-Secret-123');

    // A host given with the username wins over the derived one; another port means STARTTLS.
    await seedPost(t, '/api/updateOrgConfig', { token: ADMIN, username: 'me@qq.com', smtp_host: 'mail.example.net', smtp_port: '587' });
    expect((await campaign('default')).mail.smtp).toMatchObject({
      host: 'mail.example.net',
      port: 587,
      security: 'starttls',
      user: 'me@qq.com',
      passwordSet: true,
    });
    // Our own pages as Referer leave the claim page address alone.
    await seedPost(t, '/api/updateOrgConfig', { token: ADMIN, name: 'Org' }, { referer: 'http://vh.test/admin/' });
    expect((await campaign('default')).claimUrl).toBe('https://community.example.org/zh-cn/certification/index.html');
  });

  it('the campaign field selects another campaign on every seed endpoint; notices link to the Referer-derived page', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v2/certificates/campaigns',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'Legacy front end', slug: 'legacy' }),
    });
    expect(created.statusCode).toBe(201);
    const defaultBefore = (await seedPost(t, '/api/email', { token: ADMIN, action: 'query' })).body.data.counts;

    const imp = await seedPost(t, '/api/addUserData', {
      token: ADMIN,
      email: ['l1@example.org,L-1', 'l2@example.org,L-2', 'one@example.org'],
      campaign: 'legacy',
    });
    // The same email in another campaign is a different volunteer, not a duplicate.
    expect(imp.body.data).toMatchObject({ added: 3, duplicates: [] });
    const form = new FormData();
    form.append('template', new Blob([new Uint8Array(whiteTemplate(640, 480))]), 't.png');
    const up = await (
      await fetch(`${base}/api/uploadImage?campaign=legacy`, { method: 'POST', body: form, headers: { Token: ADMIN } })
    ).json();
    expect(up).toMatchObject({ code: 0, data: { width: 640, height: 480 } });
    const cfg = await seedPost(
      t,
      '/api/updateOrgConfig',
      { token: ADMIN, name: 'Legacy Org', campaign: 'legacy' },
      { referer: 'http://old.example.org/cert/admin.html' },
    );
    expect(cfg.body.code).toBe(0);
    expect(await campaign('legacy')).toMatchObject({
      organization: 'Legacy Org',
      claimUrl: 'http://old.example.org/cert/index.html',
      template: { width: 640, height: 480 },
    });
    // The default campaign is untouched.
    expect((await campaign('default')).template).toBeNull();
    expect((await seedPost(t, '/api/email', { token: ADMIN, action: 'query' })).body.data.counts).toEqual(defaultBefore);

    const send = await seedPost(t, '/api/email', { token: ADMIN, action: 'send', campaign: 'legacy' });
    expect(send.body).toMatchObject({ code: 0, data: { queued: 3 } });
    const q = await waitFor(
      async () => {
        const r = (await seedPost(t, '/api/email', { token: ADMIN, action: 'query', campaign: 'legacy' })).body;
        return r.data.sending === false && r.data.counts['1'] === 3 ? r : undefined;
      },
      20_000,
      'legacy notices',
    );
    // The answer's shape: counts "0".."4", failed with count and latest reasons, sending as a flag.
    expect(Object.keys(q.data.counts).sort()).toEqual(['0', '1', '2', '3', '4']);
    expect(q.data.counts).toEqual({ '0': 0, '1': 3, '2': 0, '3': 0, '4': 0 });
    expect(q.data.failed).toEqual({ count: 0, latest: [] });
    expect(typeof q.data.sending).toBe('boolean');

    const notices = (await Promise.all(smtp.received.map((m) => parseMail(m.raw)))).filter((m) => m.messageId?.startsWith('<notice.'));
    expect(notices.map((n) => n.to?.[0]?.address).sort()).toEqual(['l1@example.org', 'l2@example.org', 'one@example.org']);
    for (const n of notices) {
      expect(n.html).toMatch(/http:\/\/old\.example\.org\/cert\/index\.html\?token=[A-Za-z0-9_-]{43}/);
      const info = await seedGet(t, `/api/getUserInfo?token=${tokenFromNotice(n.html ?? '')}`);
      expect(info.body.data.Email).toBe(n.to?.[0]?.address);
    }
    // PDF as the campaign's option: the certificate arrives as a PDF, and downloads as one.
    const pdf = await t.app.inject({
      method: 'PATCH',
      url: '/api/v2/certificates/campaigns/legacy',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ output: 'pdf' }),
    });
    expect(pdf.json().output).toBe('pdf');
    const l1 = tokenFromNotice(notices.find((n) => n.to?.[0]?.address === 'l1@example.org')!.html ?? '')!;
    expect((await seedPost(t, '/api/submitUserInfo', { token: l1, name: 'Pdf Person' })).body.code).toBe(0);
    const certMail = await waitFor(
      () => smtp.received.find((m) => m.to[0] === 'l1@example.org' && m.raw.includes('Message-ID: <certificate.')),
      20_000,
      'the PDF certificate',
    );
    const att = (await parseMail(certMail.raw)).attachments[0];
    expect(att.mimeType).toBe('application/pdf');
    expect(att.filename).toBe('certificate-L-1.pdf');
    expect(
      Buffer.from(att.content as ArrayBuffer)
        .subarray(0, 5)
        .toString(),
    ).toBe('%PDF-');
    const dl = await t.app.inject({ method: 'GET', url: `/api/v2/certificates/claim/download?token=${l1}` });
    expect(dl.headers['content-type']).toBe('application/pdf');

    // An unknown campaign is refused on every endpoint with code 1 and its name.
    for (const [url, body] of [
      ['/api/addUserData', { email: ['z@example.org'] }],
      ['/api/updateOrgConfig', { name: 'x' }],
      ['/api/email', { action: 'query' }],
    ] as const) {
      const r = await seedPost(t, url, { token: ADMIN, ...body, campaign: 'no-such-campaign' });
      expect(r.body, url).toEqual({ code: 1, data: null, message: 'campaign "no-such-campaign" not found' });
    }
    const badUp = await (
      await fetch(`${base}/api/uploadImage?campaign=no-such-campaign`, { method: 'POST', body: form, headers: { Token: ADMIN } })
    ).json();
    expect(badUp).toMatchObject({ code: 1, message: expect.stringContaining('not found') });
  });
});
