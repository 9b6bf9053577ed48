/**
 * Attack: a page on another site makes a signed-in member's browser change something on the
 * assistant (cookie session). Every state-changing route, whatever its method, must refuse a
 * cross-site request and change nothing: the two GETs that change state (`/account/logout`
 * revokes the session, `/wechat/testlogin` makes a bind QR code) included, and every other route
 * of the cookie-session groups, found from the app's own route table (so a route added later is
 * covered without editing this test). Listed origins (CORS_ORIGINS) and the service's own origin
 * pass; requests without any browser header (curl, scripts) pass as non-browser clients.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { member, PUBLIC, startAutoreply, type Ctx } from '../autoreply/helpers.js';
import { routeTable } from '../../src/platform/http/origins.js';

const EVIL = 'http://evil.example';
const LISTED = 'http://assistant.example:8080';

/** The ways a cross-site page reaches us: a fetch/form (Origin sent) and a navigation or <img> (no Origin). */
const CROSS_SITE: Record<string, Record<string, string>> = {
  'fetch from another site': { origin: EVIL, 'sec-fetch-site': 'cross-site' },
  'navigation or image from another site': { 'sec-fetch-site': 'cross-site', referer: `${EVIL}/page` },
  'old browser, Origin only': { origin: EVIL },
  'opaque origin (sandboxed frame)': { origin: 'null' },
};

describe.each(testDialects())('cross-site requests against cookie-session routes (%s)', (dialect) => {
  let ctx: Ctx;
  beforeAll(async () => {
    ctx = await startAutoreply(dialect);
    ctx.fake.on('/cgi-bin/qrcode/create', (req) => ({
      ticket: 'T',
      url: `http://weixin.qq.com/q/${req.json().action_info.scene.scene_str}`,
      expire_seconds: 600,
    }));
  });
  afterAll(async () => ctx?.close());

  const signedIn = async (cookie: string, id: number) =>
    (await ctx.t.app.inject({ method: 'GET', url: `/mongodb/show?id=${id}`, headers: { cookie } })).json().code === 200;
  const qrCount = async () =>
    Number(
      (
        await ctx.t.core.db
          .selectFrom('ar_qr_requests')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('GET /account/logout from another site does not sign the member out', async () => {
    const m = await member(ctx, 'logout_victim');
    for (const [how, headers] of Object.entries(CROSS_SITE)) {
      const r = await ctx.t.app.inject({ method: 'GET', url: '/account/logout', headers: { ...headers, cookie: m.cookie } });
      expect(r.statusCode, how).toBe(403);
      expect(r.json(), how).toMatchObject({ code: -1 });
      expect(r.headers['set-cookie'], how).toBeUndefined();
      expect(await signedIn(m.cookie, m.id), how).toBe(true);
    }
    // The member's own page (same origin) signs out.
    const own = await ctx.t.app.inject({
      method: 'GET',
      url: '/account/logout',
      headers: { origin: PUBLIC, 'sec-fetch-site': 'same-origin', cookie: m.cookie },
    });
    expect(own.json()).toEqual({ code: 200, message: 'ok' });
    expect(await signedIn(m.cookie, m.id)).toBe(false);
  });

  it('GET /wechat/testlogin from another site makes no bind QR code', async () => {
    const m = await member(ctx, 'qr_victim');
    const before = await qrCount();
    for (const [how, headers] of Object.entries(CROSS_SITE)) {
      const r = await ctx.t.app.inject({ method: 'GET', url: `/wechat/testlogin?id=${m.id}`, headers: { ...headers, cookie: m.cookie } });
      expect(r.statusCode, how).toBe(403);
      expect(r.json(), how).toMatchObject({ code: -1 });
    }
    expect(await qrCount()).toBe(before);
    expect(ctx.fake.calls('/cgi-bin/qrcode/create')).toHaveLength(0);
    const own = await ctx.t.app.inject({
      method: 'GET',
      url: `/wechat/testlogin?id=${m.id}`,
      headers: { 'sec-fetch-site': 'same-origin', cookie: m.cookie },
    });
    expect(own.json()).toMatchObject({ code: 200, pid: expect.any(String) });
    expect(await qrCount()).toBe(before + 1);
  });

  it('every state-changing route of the cookie-session groups refuses a cross-site request and changes nothing', async () => {
    const m = await member(ctx, 'sweep_victim');
    const own = { origin: PUBLIC };
    await ctx.t.app.inject({
      method: 'POST',
      url: `/mongodb/add?id=${m.id}`,
      headers: { ...own, cookie: m.cookie },
      payload: { 苹果: '梨子' },
    });
    const state = async () => ({
      rules: (await ctx.t.app.inject({ method: 'GET', url: `/mongodb/show?id=${m.id}`, headers: { cookie: m.cookie } })).json(),
      enabled: (await ctx.t.app.inject({ method: 'GET', url: '/wechat/autoreply', headers: { cookie: m.cookie } })).json().enabled,
      qr: await qrCount(),
      accounts: (await ctx.t.app.inject({ method: 'GET', url: '/api/v2/autoreply/accounts', headers: { cookie: m.cookie } })).json(),
      users: Number(
        (
          await ctx.t.core.db
            .selectFrom('users')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      ),
    });
    const before = await state();
    const routes = routeTable(ctx.t.app).filter((r) => r.group === 'session' && r.changesState);
    // The table really is the app's: the routes the seed and the web pages use are all in it.
    const names = routes.map((r) => `${r.method} ${r.url}`);
    for (const known of [
      'GET /account/logout',
      'GET /wechat/testlogin',
      'POST /account/login',
      'POST /account/register',
      'POST /mongodb/add',
      'DELETE /mongodb/delete',
      'GET /database/delete/',
      'POST /database/update',
      'POST /wechat/autoreply',
      'POST /api/v2/autoreply/rules',
      'PUT /api/v2/autoreply/settings',
      'DELETE /api/v2/autoreply/accounts/:id',
      'POST /api/v2/autoreply/bind-qr',
    ]) {
      expect(names).toContain(known);
    }
    expect(routes.length).toBeGreaterThan(25);
    for (const r of routes) {
      const url = r.url.replace(/:[a-zA-Z]+/g, '1') + (r.url.includes('?') ? '' : `?id=${m.id}&key=01`);
      for (const [how, headers] of Object.entries(CROSS_SITE)) {
        const withBody = r.method !== 'GET' && r.method !== 'HEAD';
        const res = await ctx.t.app.inject({
          method: r.method as 'POST',
          url,
          headers: { ...headers, cookie: m.cookie, ...(withBody ? { 'content-type': 'application/json' } : {}) },
          ...(withBody
            ? {
                payload: JSON.stringify({
                  username: 'sweep_victim',
                  password: 'correct horse battery',
                  enabled: false,
                  hello: 'world',
                  keywords: [{ text: 'x' }],
                  replies: ['y'],
                }),
              }
            : {}),
        });
        expect(res.statusCode, `${r.method} ${r.url} (${how})`).toBe(403);
        if (r.method !== 'HEAD') expect(res.json().code, `${r.method} ${r.url}`).toEqual(r.url.startsWith('/api/v2/') ? 'cross_site' : -1);
      }
    }
    expect(await state()).toEqual(before);
    expect(await signedIn(m.cookie, m.id)).toBe(true);
  });

  it("a client without any browser header (curl, the seeds' examples) is not taken for a cross-site page", async () => {
    const m = await member(ctx, 'curl_user');
    const add = await ctx.t.app.inject({ method: 'POST', url: '/database/add', headers: { cookie: m.cookie }, payload: { 你好: '您好' } });
    expect(add.json()).toMatchObject({ code: 200 });
    const out = await ctx.t.app.inject({ method: 'GET', url: '/account/logout', headers: { cookie: m.cookie } });
    expect(out.json()).toEqual({ code: 200, message: 'ok' });
  });

  it('a cross-site login is refused and sets no cookie (login CSRF)', async () => {
    await member(ctx, 'login_victim');
    const r = await ctx.t.app.inject({
      method: 'POST',
      url: '/account/login',
      headers: { origin: EVIL },
      payload: { username: 'login_victim', password: 'correct horse battery' },
    });
    expect(r.statusCode).toBe(403);
    expect(r.headers['set-cookie']).toBeUndefined();
  });
});

describe.each(testDialects())('cross-site check with CORS_ORIGINS (%s)', (dialect) => {
  let ctx: Ctx;
  beforeAll(async () => {
    ctx = await startAutoreply(dialect, { env: { CORS_ORIGINS: LISTED } });
  });
  afterAll(async () => ctx?.close());

  it("accepts exactly the listed origins (and its pages' navigations), nothing near them", async () => {
    const m = await member(ctx, 'listed_user');
    for (const origin of [
      'http://assistant.example',
      'https://assistant.example:8080',
      'http://assistant.example:8081',
      'http://evil.assistant.example:8080',
    ]) {
      const r = await ctx.t.app.inject({
        method: 'POST',
        url: '/database/add',
        headers: { origin, cookie: m.cookie },
        payload: { a: 'b' },
      });
      expect(r.statusCode, origin).toBe(403);
    }
    const fromApp = await ctx.t.app.inject({
      method: 'POST',
      url: '/database/add',
      headers: { origin: LISTED, 'sec-fetch-site': 'same-site', cookie: m.cookie },
      payload: { a: 'b' },
    });
    expect(fromApp.json()).toMatchObject({ code: 200 });
    const link = await ctx.t.app.inject({
      method: 'GET',
      url: '/account/logout',
      headers: { 'sec-fetch-site': 'same-site', referer: `${LISTED}/rules`, cookie: m.cookie },
    });
    expect(link.json()).toEqual({ code: 200, message: 'ok' });
  });
});
