/**
 * The original front-ends called the service from other origins: the claim page lived on the
 * community's site, the assistant's Vue app on its own port. Here, in real Chromium, a page served
 * by its own little HTTP server on a second loopback port does the whole claim flow (getUserInfo,
 * submitUserInfo with a JSON body, so a real preflight) and the assistant's login and rules with
 * `fetch(..., {mode: 'cors', credentials: 'include'})`, the service listing that origin in
 * CORS_ORIGINS. A page on a third port, not listed, is refused by the browser (no CORS answer)
 * and, for what a page can send without asking (a form-encoded POST), by the cross-site check.
 */
import { createServer, type Server } from 'node:http';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type Browser } from './browser.js';
import { freePort } from '../helpers/free-port.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { startFakeWechat, type FakeWechat } from '../helpers/fake-wechat.js';
import { startSmtpServer, type TestSmtpServer } from '../platform/smtp-server.js';
import { codeFor, MP, type Ctx } from '../autoreply/helpers.js';
import { parseMail, tokenFromNotice, waitFor } from '../certificates/helpers.js';

const ADMIN = 'test-admin-token';
const PASSWORD = 'correct horse battery';

/** A stand-in for another site: one small page, on its own loopback port. */
async function otherSite(title: string): Promise<{ url: string; close(): Promise<void> }> {
  const port = await freePort();
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><pre id="log"></pre></body></html>`,
    );
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Runs fetch in the page; answers {status, body} or {error} when the browser refused it. */
async function pageFetch(
  page: Page,
  url: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<{ status?: number; body?: any; error?: string }> {
  return page.evaluate(
    async ([u, i]) => {
      const { json, ...rest } = i;
      const opts: RequestInit = { mode: 'cors', ...rest };
      if (json !== undefined) {
        opts.body = JSON.stringify(json);
        opts.headers = { 'Content-Type': 'application/json', ...(rest.headers as Record<string, string> | undefined) };
      }
      try {
        const r = await fetch(u, opts);
        const text = await r.text();
        document.getElementById('log')!.textContent += `${opts.method ?? 'GET'} ${u} -> ${r.status} ${text.slice(0, 80)}\n`;
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        return { status: r.status, body };
      } catch (err) {
        document.getElementById('log')!.textContent += `${opts.method ?? 'GET'} ${u} -> refused: ${String(err)}\n`;
        return { error: String(err) };
      }
    },
    [url, init] as const,
  );
}

describe.each(testDialects())('cross-origin clients in Chromium (%s)', { timeout: 180_000 }, (dialect) => {
  let browser: Browser;
  let smtp: TestSmtpServer;
  let fake: FakeWechat;
  let t: TestApp;
  let api: string;
  let site: { url: string; close(): Promise<void> };
  let stranger: { url: string; close(): Promise<void> };
  let page: Page;
  const sessions = async () =>
    Number(
      (
        await t.core.db
          .selectFrom('sessions')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  beforeAll(async () => {
    [browser, smtp, fake, site, stranger] = await Promise.all([
      launchBrowser(),
      startSmtpServer(),
      startFakeWechat(),
      otherSite('Community site'),
      otherSite('Somebody else'),
    ]);
    fake.on('/cgi-bin/token', () => ({ access_token: 'AT', expires_in: 7200 }));
    fake.on('/cgi-bin/message/custom/send', () => ({ errcode: 0, errmsg: 'ok' }));
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    t = await startTestApp({
      dialect,
      env: {
        PUBLIC_URL: api,
        SMTP_URL: smtp.url,
        CORS_ORIGINS: site.url,
        WECHAT_API_BASE: fake.url,
        WECHAT_MP_APPID: MP.appid,
        WECHAT_MP_SECRET: MP.secret,
        WECHAT_MP_TOKEN: MP.token,
        WECHAT_MP_AES_KEY: MP.aesKey,
      },
    });
    await t.app.listen({ port, host: '127.0.0.1' });
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await Promise.all([smtp?.close(), fake?.close(), site?.close(), stranger?.close()]);
  });

  it('the claim flow from the community site: getUserInfo, submitUserInfo (JSON, preflighted), the certificate follows', async () => {
    const post = (url: string, body: unknown) =>
      t.app
        .inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) })
        .then((r) => r.json());
    expect((await post('/api/addUserData', { token: ADMIN, email: ['volunteer@example.org'] })).code).toBe(0);
    expect((await post('/api/email', { token: ADMIN, action: 'send' })).code).toBe(0);
    const notice = await waitFor(
      async () => (await Promise.all(smtp.received.map((m) => parseMail(m.raw)))).find((m) => m.messageId?.startsWith('<notice.')),
      20_000,
      'the notice',
    );
    const token = tokenFromNotice(notice.html ?? '')!;

    await page.goto(`${site.url}/zh-cn/certification/index.html?token=${token}`);
    const info = await pageFetch(page, `${api}/api/getUserInfo?token=${token}`);
    expect(info).toEqual({
      status: 200,
      body: { code: 0, data: { email: 'volunteer@example.org', name: '', Email: 'volunteer@example.org', Name: '' }, message: 'success' },
    });
    const submit = await pageFetch(page, `${api}/api/submitUserInfo`, { method: 'POST', json: { token, name: '李明' } });
    expect(submit).toEqual({ status: 200, body: { code: 0, data: null, message: 'success' } });
    await waitFor(
      async () =>
        (await t.core.db.selectFrom('recipients').select('status').where('email', '=', 'volunteer@example.org').executeTakeFirst())
          ?.status === 4,
      30_000,
      'the certificate',
    );
    const again = await pageFetch(page, `${api}/api/getUserInfo?token=${token}`);
    expect(again.body.code).toBe(3);
  });

  it("the assistant's login and rules from its own origin, with the session cookie", async () => {
    const ctx = { t, clock: { now: Date.now() } } as unknown as Ctx;
    const code = await codeFor(ctx, 'o_cross_origin');
    const reg = await t.app.inject({
      method: 'POST',
      url: '/account/register',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ username: 'remote_app', password: PASSWORD, last_name: code }),
    });
    expect(reg.json().code).toBe(200);

    await page.goto(`${site.url}/assistant/`);
    const login = await pageFetch(page, `${api}/account/login`, {
      method: 'POST',
      credentials: 'include',
      json: { username: 'remote_app', password: PASSWORD },
    });
    expect(login.body).toMatchObject({ code: 200, message: 'ok' });
    const id = login.body.id as number;
    const add = await pageFetch(page, `${api}/mongodb/add?id=${id}`, {
      method: 'POST',
      credentials: 'include',
      json: { 你好: '您好，有什么可以帮您？', hours: '9:00-17:00' },
    });
    expect(add.body).toMatchObject({ code: 200 });
    const rule = await pageFetch(page, `${api}/api/v2/autoreply/rules`, {
      method: 'POST',
      credentials: 'include',
      json: { keywords: [{ text: 'price', match: 'contains' }], replies: ['Free for volunteers.'] },
    });
    expect(rule.status).toBe(201);
    const show = await pageFetch(page, `${api}/mongodb/show?id=${id}`, { credentials: 'include' });
    expect(show.body).toEqual({
      code: 200,
      message: 'ok',
      data: { '01': { 你好: '您好，有什么可以帮您？' }, '02': { hours: '9:00-17:00' }, '03': { price: 'Free for volunteers.' } },
    });
    expect((await pageFetch(page, `${api}/database/show`, { credentials: 'include' })).body).toEqual(show.body.data);
    await screenshot(page, 'cross-origin-assistant');
    // Log out (a GET that changes state, from the listed origin): the cookie no longer works.
    expect((await pageFetch(page, `${api}/account/logout`, { credentials: 'include' })).body).toEqual({ code: 200, message: 'ok' });
    expect((await pageFetch(page, `${api}/database/show`, { credentials: 'include' })).body.code).toBe(-1);
  });

  it('a page on an origin that is not listed gets nothing', async () => {
    const other = await browser.newPage();
    await other.goto(`${stranger.url}/`);
    const before = await sessions();
    // The narrowed token APIs: the browser finds no CORS answer and refuses to hand over the body.
    const info = await pageFetch(other, `${api}/api/getUserInfo?token=whatever-token`);
    expect(info.error).toMatch(/Failed to fetch/);
    // A JSON login needs a preflight, which is refused: the POST is never sent.
    const login = await pageFetch(other, `${api}/account/login`, {
      method: 'POST',
      credentials: 'include',
      json: { username: 'remote_app', password: PASSWORD },
    });
    expect(login.error).toMatch(/Failed to fetch/);
    // What a page may send without asking (a form post, no-cors) reaches us and meets the cross-site check.
    await other.evaluate(async (u) => {
      await fetch(u, {
        method: 'POST',
        mode: 'no-cors',
        credentials: 'include',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'username=remote_app&password=correct+horse+battery',
      });
    }, `${api}/account/login`);
    expect(await sessions()).toBe(before);
    await screenshot(other, 'cross-origin-refused');
    await other.close();
  });
});
