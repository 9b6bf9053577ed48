/** The seed's API: registration by code, login, rules in both dialects, -5, cross-site, bad input. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { codeFor, member, ORIGIN, startAutoreply, type Ctx } from './helpers.js';

describe.each(testDialects())('autoreply seed API (%s)', (dialect) => {
  let ctx: Ctx;
  beforeAll(async () => {
    ctx = await startAutoreply(dialect);
  });
  afterAll(async () => ctx?.close());
  const call = (
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    cookie: string,
    payload?: unknown,
    headers: Record<string, string> = ORIGIN,
  ) =>
    ctx.t.app
      .inject({ method, url, payload: payload as object, headers: { ...headers, cookie } })
      .then((r) => ({ status: r.statusCode, json: r.json() }));

  it('registers with the code from the official account, once, and binds that openid', async () => {
    const code = await codeFor(ctx, 'o_reg');
    const bad = await ctx.t.app.inject({
      method: 'POST',
      url: '/account/register',
      headers: ORIGIN,
      payload: { username: 'alice', password: 'correct horse battery', last_name: code === '000000' ? '111111' : '000000' },
    });
    expect(bad.json().code).toBe(-1);
    const ok = await ctx.t.app.inject({
      method: 'POST',
      url: '/account/register',
      headers: ORIGIN,
      payload: { username: 'alice', password: 'correct horse battery', last_name: code },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ code: 200, message: 'ok' });
    const again = await ctx.t.app.inject({
      method: 'POST',
      url: '/account/register',
      headers: ORIGIN,
      payload: { username: 'alice2', password: 'correct horse battery', last_name: code },
    });
    expect(again.json().code).toBe(-1);
    const binding = await ctx.t.core.db.selectFrom('ar_wechat_bindings').selectAll().where('openid', '=', 'o_reg').executeTakeFirst();
    expect(Number(binding?.user_id)).toBe(ok.json().id);

    const code2 = await codeFor(ctx, 'o_other');
    const taken = await ctx.t.app.inject({
      method: 'POST',
      url: '/account/register',
      headers: ORIGIN,
      payload: { username: 'alice', password: 'correct horse battery', last_name: code2 },
    });
    expect(taken.json().code).toBe(-2);
    // The code survived the refusal: it still registers another name.
    const other = await ctx.t.app.inject({
      method: 'POST',
      url: '/account/register',
      headers: ORIGIN,
      payload: { username: 'bob_reg', password: 'correct horse battery', last_name: code2 },
    });
    expect(other.json().code).toBe(200);

    const wrong = await ctx.t.app.inject({
      method: 'POST',
      url: '/account/login',
      headers: ORIGIN,
      payload: { username: 'alice', password: 'wrong password!' },
    });
    expect(wrong.json().code).toBe(-3);
    const login = await ctx.t.app.inject({
      method: 'POST',
      url: '/account/login',
      headers: ORIGIN,
      payload: { username: 'alice', password: 'correct horse battery' },
    });
    expect(login.json()).toMatchObject({ code: 200, id: ok.json().id });
    expect(String(login.headers['set-cookie'])).toMatch(/ar_session=.+HttpOnly.*SameSite=Lax/i);
  });

  it('keeps rules in the seed view with zero-padded keys, in both dialects', async () => {
    const m = await member(ctx, 'carol');
    const add = await call('POST', `/mongodb/add?id=${m.id}`, m.cookie, { 苹果: '梨子', hello: 'world' });
    expect(add.json).toMatchObject({ code: 200, message: 'ok' });
    const add2 = await call('POST', '/database/add', m.cookie, { 香蕉: '橘子' });
    expect(add2.json.code).toBe(200);
    const show = await call('GET', `/mongodb/show?id=${m.id}`, m.cookie);
    expect(show.json).toEqual({
      code: 200,
      message: 'ok',
      data: { '01': { 苹果: '梨子' }, '02': { hello: 'world' }, '03': { 香蕉: '橘子' } },
    });
    const dup = await call('POST', `/mongodb/add?id=${m.id}`, m.cookie, { 新的: '一', 苹果: '别的' });
    expect(dup.json.code).toBe(-2);
    const upd = await call('POST', '/database/update/?id=02', m.cookie, { hi: 'there' });
    expect(upd.json.code).toBe(200);
    const del = await call('DELETE', `/mongodb/delete?id=${m.id}&key=01`, m.cookie);
    expect(del.json.code).toBe(200);
    const missing = await call('DELETE', `/mongodb/delete?id=${m.id}&key=01`, m.cookie);
    expect(missing.json.code).toBe(-2);
    const del2 = await call('GET', '/database/delete/?id=03', m.cookie);
    expect(del2.json.code).toBe(200);
    const add3 = await call('POST', '/database/add', m.cookie, { 西瓜: '葡萄' });
    expect(add3.json.keys).toEqual(['04']);
    const view = await call('GET', '/database/show', m.cookie);
    // The seed's shape exactly: the map alone (issue 12 item 5).
    expect(view.json).toEqual({ '02': { hi: 'there' }, '04': { 西瓜: '葡萄' } });
  });

  it("answers -5 on another member's id and changes nothing", async () => {
    const a = await member(ctx, 'dave');
    const b = await member(ctx, 'erin');
    await call('POST', `/mongodb/add?id=${b.id}`, b.cookie, { k: 'v' });
    expect((await call('GET', `/mongodb/show?id=${b.id}`, a.cookie)).json.code).toBe(-5);
    expect((await call('POST', `/mongodb/add?id=${b.id}`, a.cookie, { x: 'y' })).json.code).toBe(-5);
    expect((await call('DELETE', `/mongodb/delete?id=${b.id}&key=01`, a.cookie)).json.code).toBe(-5);
    expect((await call('GET', `/mongodb/show?id=${b.id}`, b.cookie)).json.data).toEqual({ '01': { k: 'v' } });
    expect((await call('GET', `/mongodb/show?id=${a.id}`, a.cookie)).json.data).toEqual({});
  });

  it('refuses cross-site state changes and needs a session', async () => {
    const m = await member(ctx, 'frank');
    const evil = await call('POST', `/mongodb/add?id=${m.id}`, m.cookie, { a: 'b' }, { origin: 'http://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.json.code).toBe(-1);
    const navigated = await call('GET', '/database/delete/?id=01', m.cookie, undefined, {
      'sec-fetch-site': 'cross-site',
      referer: 'http://evil.example/x',
    });
    expect(navigated.status).toBe(403);
    // A browser always says where a request comes from (Origin, Sec-Fetch-Site or Referer); a
    // request with none of them is a script or curl (the seed's own examples), not a forged one.
    const bare = await call('POST', '/database/add', m.cookie, { a: 'b' }, {});
    expect(bare.json.code).toBe(200);
    expect((await call('DELETE', `/mongodb/delete?id=${m.id}&key=${bare.json.keys[0]}`, m.cookie, undefined, {})).json.code).toBe(200);
    const form = await ctx.t.app.inject({
      method: 'POST',
      url: '/wechat/autoreply',
      payload: 'enabled=false',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: m.cookie, origin: 'http://evil.example' },
    });
    expect(form.statusCode).toBe(403);
    expect((await call('GET', `/mongodb/show?id=${m.id}`, m.cookie)).json.data).toEqual({});
    expect((await call('GET', '/wechat/autoreply', m.cookie)).json.enabled).toBe(true);
    expect((await call('GET', `/mongodb/show?id=${m.id}`, '')).json.code).toBe(-1);
    // Same-origin with the custom header works.
    expect((await call('POST', '/database/add', m.cookie, { a: 'b' }, { 'x-requested-with': 'XMLHttpRequest' })).json.code).toBe(200);
  });

  it('answers -4 to bad input and changes nothing', async () => {
    const m = await member(ctx, 'grace');
    for (const payload of [{}, { a: 5 }, { '': 'x' }, { k: '' }, { k: 'x'.repeat(2001) }]) {
      expect((await call('POST', `/mongodb/add?id=${m.id}`, m.cookie, payload)).json.code).toBe(-4);
    }
    const notJson = await ctx.t.app.inject({
      method: 'POST',
      url: '/database/add',
      payload: '{"a":',
      headers: { ...ORIGIN, cookie: m.cookie, 'content-type': 'application/json' },
    });
    expect(notJson.statusCode).toBe(200);
    expect(notJson.json().code).toBe(-4);
    expect((await call('GET', '/mongodb/show?id=abc', m.cookie)).json.code).toBe(-4);
    expect((await call('POST', '/wechat/autoreply', m.cookie, { enabled: 'maybe' })).json.code).toBe(-4);
    const reg = await ctx.t.app.inject({
      method: 'POST',
      url: '/account/register',
      headers: ORIGIN,
      payload: { username: 'x', password: 'p' },
    });
    expect(reg.json().code).toBe(-4);
    expect((await call('GET', `/mongodb/show?id=${m.id}`, m.cookie)).json.data).toEqual({});
  });

  it('switches auto-reply off and on, and logs out', async () => {
    const m = await member(ctx, 'heidi');
    expect((await call('POST', '/wechat/autoreply', m.cookie, { enabled: false })).json).toMatchObject({ code: 200, enabled: false });
    expect((await call('GET', '/wechat/autoreply', m.cookie)).json.enabled).toBe(false);
    expect((await call('GET', '/account/logout', m.cookie)).json.code).toBe(200);
    expect((await call('GET', '/wechat/autoreply', m.cookie)).json.code).toBe(-1);
  });
});
