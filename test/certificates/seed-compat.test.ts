/**
 * Seeds 000 and 001 (志愿者证书), request by request as they are written: the same paths,
 * bodies and example values (the admin token really is "abc" here, as in the examples), sent as a
 * plain client sends them, and the seeds' answers asserted: `{code, data, message}` with HTTP 200,
 * the codes of 001's table (1 name missing, 2 token invalid, 3 already sent), the data flow
 * 0 -> 1 -> 2 -> 3 -> 4 with a real SMTP server. Also what the original console sends that the
 * seeds leave out: `null` for an emptied number field, and lines the import cannot take.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/platform/crypto/tokens.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { startSmtpServer, type TestSmtpServer } from '../platform/smtp-server.js';
import { parseMail, tokenFromNotice, waitFor, whiteTemplate } from './helpers.js';

describe.each(testDialects())('seeds 000/001 as written (%s)', (dialect) => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let base: string;
  const auth = { authorization: 'Bearer abc' };

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ dialect, env: { SMTP_URL: smtp.url, PUBLIC_URL: 'http://127.0.0.1:5000', ADMIN_TOKEN: 'abc' } });
    base = await t.listen();
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  /** A request as written: raw JSON text, content type application/json (000: "post的Content-Type一定是application/json"). */
  async function post(path: string, json: string) {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json });
    expect(res.status, path).toBe(200);
    return (await res.json()) as { code: number; data: any; message: string };
  }
  async function get(pathAndQuery: string) {
    const res = await fetch(`${base}${pathAndQuery}`);
    expect(res.status, pathAndQuery).toBe(200);
    return (await res.json()) as { code: number; data: any; message: string };
  }
  const campaign = async () => (await t.app.inject({ method: 'GET', url: '/api/v2/certificates/campaigns/default', headers: auth })).json();
  const statusOf = async (email: string) =>
    (await t.core.db.selectFrom('recipients').select('status').where('email', '=', email).executeTakeFirst())?.status;

  it('001 §3 addUserData {"token":"abc","email":["foo@example.org"]}', async () => {
    const r = await post('/api/addUserData', '{\n    "token":"abc",  \n    "email":["foo@example.org"]\n}');
    expect(r).toMatchObject({ code: 0, data: { added: 1, duplicates: [], rejected: [] } });
    expect(typeof r.message).toBe('string');
    // Lines nobody can import still answer 0 with the report (the seed: "结果同 1"), and change nothing.
    const bad = await post(
      '/api/addUserData',
      JSON.stringify({ token: 'abc', email: ['not an email', 'foo@example.org,N-1,Name,extra field'] }),
    );
    expect(bad.code).toBe(0);
    expect(bad.data).toMatchObject({
      added: 0,
      rejected: [
        { lineNo: 1, reason: 'not a valid email address' },
        { lineNo: 2, reason: expect.stringMatching(/fields/) },
      ],
    });
    expect(bad.message).toMatch(/no volunteer added/);
    // A repeated email is reported with where it already is.
    const again = await post(
      '/api/addUserData',
      JSON.stringify({ token: 'abc', email: ['foo@example.org', 'bar@example.org', 'BAR@example.org'] }),
    );
    expect(again.data).toMatchObject({
      added: 1,
      duplicates: [
        { lineNo: 1, email: 'foo@example.org', reason: expect.stringContaining('campaign') },
        { lineNo: 3, email: 'bar@example.org', reason: expect.stringContaining('line 2') },
      ],
    });
  });

  it('001 §4 uploadImage: header Token: abc, multipart name="template"', async () => {
    const form = new FormData();
    form.append('template', new Blob([new Uint8Array(whiteTemplate(800, 566))], { type: 'image/png' }), 'pic.png');
    const res = await fetch(`${base}/api/uploadImage`, { method: 'POST', headers: { Token: 'abc' }, body: form });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ code: 0, data: { width: 800, height: 566 } });
  });

  it('001 §6 email {"token":"abc","action":"send"} mails links (0 -> 1); "query" shows progress', async () => {
    const send = await post('/api/email', '{\n   "token":"abc",\n   "action": "send" \n}');
    expect(send.code).toBe(0);
    await waitFor(async () => (await statusOf('foo@example.org')) === 1 && (await statusOf('bar@example.org')) === 1, 20_000, 'notices');
    const q = await post('/api/email', '{"token":"abc","action":"query"}');
    expect(q).toMatchObject({ code: 0, data: { counts: { '0': 0, '1': 2, '2': 0, '3': 0, '4': 0 } } });
  });

  it('000/001 §1-2 getUserInfo and submitUserInfo with the link; the certificate follows (2 -> 3 -> 4)', async () => {
    const notices = (await Promise.all(smtp.received.map((m) => parseMail(m.raw)))).filter((m) => m.messageId?.startsWith('<notice.'));
    const tokenOf = (email: string) => tokenFromNotice(notices.find((n) => n.to?.[0]?.address === email)!.html ?? '')!;
    const foo = tokenOf('foo@example.org');
    // 001: {code: 0, data: {email, name}, message: "success"}; 000's capitalised Email/Name come along.
    expect(await get(`/api/getUserInfo?token=${foo}`)).toEqual({
      code: 0,
      data: { email: 'foo@example.org', name: '', Email: 'foo@example.org', Name: '' },
      message: 'success',
    });
    // 001 §2 {"token","name"}: code 0.
    const sub = await post('/api/submitUserInfo', `{\n    "token":"${foo}",  \n    "name":"new namw"                \n}`);
    expect(sub).toEqual({ code: 0, data: null, message: 'success' });
    await waitFor(async () => (await statusOf('foo@example.org')) === 4, 30_000, 'certificate mail');
    const cert = (await Promise.all(smtp.received.map((m) => parseMail(m.raw)))).find(
      (m) => m.messageId?.startsWith('<certificate.') && m.to?.[0]?.address === 'foo@example.org',
    );
    expect(cert?.attachments[0]?.mimeType).toBe('image/png');
    // 3: 已成功发送过邮件.
    const after = await get(`/api/getUserInfo?token=${foo}`);
    expect(after.code).toBe(3);
    expect((await post('/api/submitUserInfo', JSON.stringify({ token: foo, name: 'Another' }))).code).toBe(3);
    // 000's spelling: /api/submitUserinfo with {"Token","Name"}.
    const bar = tokenOf('bar@example.org');
    expect(
      await post(
        '/api/submitUserinfo',
        `{\n    "Token":"${bar}",  // token\n    "Name":"new namw"                //修改后的称呼\n}`.replace(/\s*\/\/[^\n]*/g, ''),
      ),
    ).toEqual({ code: 0, data: null, message: 'success' });
    const q = await waitFor(
      async () => {
        const r = await post('/api/email', '{"token":"abc","action":"query"}');
        return r.data.counts['4'] === 2 ? r : undefined;
      },
      30_000,
      'both certificates',
    );
    expect(q.data.counts).toEqual({ '0': 0, '1': 0, '2': 0, '3': 0, '4': 2 });
  });

  it("000's example link and the original's sample token0 work once imported; unknown tokens answer 2 'user not in server'", async () => {
    await post('/api/addUserData', JSON.stringify({ token: 'abc', email: ['xxxx@yeah.net,NO-1,xxxxx', 'sample@example.org'] }));
    await t.core.db
      .updateTable('recipients')
      .set({ token_hash: hashToken('dsfasgdafgaggsdagdsg'), status: 1 })
      .where('email', '=', 'xxxx@yeah.net')
      .execute();
    await t.core.db
      .updateTable('recipients')
      .set({ token_hash: hashToken('token0'), status: 1 })
      .where('email', '=', 'sample@example.org')
      .execute();
    // 000 §1: http://127.0.0.1:5000/api/getUserInfo?token=dsfasgdafgaggsdagdsg
    expect(await get('/api/getUserInfo?token=dsfasgdafgaggsdagdsg')).toEqual({
      code: 0,
      data: { email: 'xxxx@yeah.net', name: 'xxxxx', Email: 'xxxx@yeah.net', Name: 'xxxxx' },
      message: 'success',
    });
    // 001's README: curl http://localhost:5000/api/getUserInfo?token=token0
    expect((await get('/api/getUserInfo?token=token0')).code).toBe(0);
    const unknown = await get('/api/getUserInfo?token=no-such-token');
    expect(unknown.code).toBe(2);
    expect(unknown.message).toContain('user not in server');
  });

  it('001 error table: 1 name missing (also for {}), 2 token invalid', async () => {
    // {} misses the name first of all: code 1, as the table's first line says.
    const empty = await post('/api/submitUserInfo', '{}');
    expect(empty.code).toBe(1);
    expect(empty.message).toMatch(/name/);
    expect((await post('/api/submitUserInfo', JSON.stringify({ token: 'dsfasgdafgaggsdagdsg' }))).code).toBe(1);
    expect((await post('/api/submitUserInfo', JSON.stringify({ name: 'Somebody' }))).code).toBe(2);
    expect((await post('/api/submitUserInfo', JSON.stringify({ token: 'no-such-token', name: 'Somebody' }))).code).toBe(2);
    // Unknown parameters (the original page also posted the email) are ignored.
    expect(
      (await post('/api/submitUserInfo', JSON.stringify({ token: 'dsfasgdafgaggsdagdsg', name: 'X Y', email: 'xxxx@yeah.net' }))).code,
    ).toBe(0);
    await waitFor(async () => (await statusOf('xxxx@yeah.net')) === 4, 30_000, 'the certificate');
  });
  it('001 §5 updateOrgConfig: the example as written, with values in its shape, and with nulls (last: it points the campaign at smtp.163.com, which no test may reach)', async () => {
    // As written, the example's values are placeholders: positions that are no numbers are refused by name, nothing saved.
    const asWritten = await post(
      '/api/updateOrgConfig',
      '{\n    "token":"abc",  \n    "name": "org_name",\n    "website": "org_website",\n    "name_horizontal_pos": "name_horizontal_pos",\n    "name_vertical_pos": "name_vertical_pos",\n    "username": "org_email_username",\n    "password": "org_email_password"\n}',
    );
    expect(asWritten.code).toBe(1);
    expect(asWritten.message).toMatch(/name_horizontal_pos/);
    expect((await campaign()).organization).not.toBe('org_name');
    // The same body with values (numbers as the original form sends them: strings).
    const ok = await post(
      '/api/updateOrgConfig',
      JSON.stringify({
        token: 'abc',
        name: '武汉2020',
        website: 'https://community.wuhan2020.org.cn',
        name_horizontal_pos: '400',
        name_vertical_pos: '283',
        username: 'org@163.com',
        password: 'org_email_password',
      }),
    );
    expect(ok).toEqual({ code: 0, data: null, message: 'success' });
    expect(await campaign()).toMatchObject({
      organization: '武汉2020',
      website: 'https://community.wuhan2020.org.cn',
      layout: { name: { x: 400, y: 283 } },
      mail: { smtp: { host: 'smtp.163.com', user: 'org@163.com', passwordSet: true } },
    });
    // The original console sends null for parseInt('') of an emptied number field: the rest is saved, those stay.
    const nulls = await post(
      '/api/updateOrgConfig',
      JSON.stringify({
        token: 'abc',
        name: 'Wuhan 2020',
        name_horizontal_pos: null,
        name_vertical_pos: null,
        serial_number_horizontal_pos: null,
        serial_number_vertical_pos: null,
        date_horizontal_pos: null,
        date_vertical_pos: null,
        smtp_port: null,
        website: null,
      }),
    );
    expect(nulls).toEqual({ code: 0, data: null, message: 'success' });
    expect(await campaign()).toMatchObject({
      organization: 'Wuhan 2020',
      website: 'https://community.wuhan2020.org.cn',
      layout: { name: { x: 400, y: 283 } },
      mail: { smtp: { host: 'smtp.163.com' } },
    });
    // The original React console nests the mailbox: {email: {username, password}}.
    const nested = await post(
      '/api/updateOrgConfig',
      JSON.stringify({
        token: 'abc',
        name: 'Wuhan 2020',
        website: '',
        name_horizontal_pos: 400,
        name_vertical_pos: 283,
        email: { username: 'org@qq.com', password: 'pw' },
      }),
    );
    expect(nested.code).toBe(0);
    expect((await campaign()).mail.smtp).toMatchObject({ host: 'smtp.qq.com', user: 'org@qq.com' });
  });
});
