/**
 * The platform official account (/wechat/callback): binding a member by scanning the QR from
 * /wechat/testlogin (SCAN and subscribe-with-scene events), -2 while the code is being made and -3
 * without WeChat, rule commands sent from WeChat, an event retried by WeChat processed once, the
 * Secure cookie behind HTTPS, and the simulator's CLI command over real HTTP.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Command } from 'commander';
import { testDialects } from '../helpers/db.js';
import { registerAutoreplyCli } from '../../src/modules/autoreply/cli.js';
import { codeFor, event, member, platformAcc, send, startAutoreply, text, SLOW, type Ctx } from './helpers.js';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

describe.each(testDialects())('autoreply platform account (%s)', (dialect) => {
  let ctx: Ctx;
  let release: () => void = () => {};
  let gate: Promise<void> = Promise.resolve();
  beforeAll(async () => {
    ctx = await startAutoreply(dialect);
    ctx.fake.on('/cgi-bin/qrcode/create', async (r) => {
      await gate;
      return {
        ticket: `T-${r.json().action_info.scene.scene_str}`,
        url: `http://weixin.qq.com/q/${ctx.fake.calls('/cgi-bin/qrcode/create').length}`,
        expire_seconds: r.json().expire_seconds,
      };
    });
  });
  afterAll(async () => ctx?.close());
  // A failed assertion must not leave WeChat's fake hanging for the tests after it.
  afterEach(() => release());
  const get = (url: string, cookie: string) => ctx.t.app.inject({ method: 'GET', url, headers: { cookie } });
  const sceneOf = (i: number) => ctx.fake.calls('/cgi-bin/qrcode/create')[i].json().action_info.scene.scene_str as string;
  const bindingOf = (openid: string) =>
    ctx.t.core.db.selectFrom('ar_wechat_bindings').select('user_id').where('openid', '=', openid).executeTakeFirst();

  it('binds the WeChat that scans the QR (SCAN event), answers -2 while the code is made, and serves the PNG once', async () => {
    const m = await member(ctx, 'scanner', 'o_scanner_reg');
    gate = new Promise((r) => (release = r));
    const first = get(`/wechat/testlogin?id=${m.id}`, m.cookie);
    await expect.poll(() => ctx.fake.calls('/cgi-bin/qrcode/create').length, SLOW).toBe(1);
    const busy = (await get('/wechat/testlogin', m.cookie)).json();
    expect(busy.code).toBe(-2);
    release();
    const made = (await first).json();
    expect(made).toMatchObject({ code: 200, pid: expect.stringMatching(/^[A-Za-z0-9_-]{20,}$/) });
    const qrCall = ctx.fake.calls('/cgi-bin/qrcode/create')[0];
    expect(qrCall.json()).toMatchObject({ action_name: 'QR_STR_SCENE', expire_seconds: 600 });
    expect(qrCall.query.access_token).toMatch(/^AT-/);
    const png = await ctx.t.app.inject({ method: 'GET', url: `/static/qrimages/${made.pid}.png` });
    expect(png.statusCode).toBe(200);
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.rawPayload.subarray(0, 4)).toEqual(PNG);

    const scan = await send(ctx, '/wechat/callback', platformAcc, event('o_scanner_phone', 'SCAN', sceneOf(0)));
    expect(scan.reply).toMatch(/绑定成功.*scanner/);
    expect(Number((await bindingOf('o_scanner_phone'))?.user_id)).toBe(m.id);
    // The member's earlier binding (from registration) gave way to the scanned one.
    expect(await bindingOf('o_scanner_reg')).toBeUndefined();
    // Used: the image is gone and a second scan binds nothing.
    expect((await ctx.t.app.inject({ method: 'GET', url: `/static/qrimages/${made.pid}.png` })).statusCode).toBe(404);
    const again = await send(ctx, '/wechat/callback', platformAcc, event('o_intruder', 'SCAN', sceneOf(0)));
    expect(again.reply).toMatch(/失效|已被使用/);
    expect(await bindingOf('o_intruder')).toBeUndefined();
  });

  it('binds on a follow that came from the QR (subscribe with qrscene_) and refuses another member id', async () => {
    const m = await member(ctx, 'follower');
    expect((await get('/wechat/testlogin?id=1', m.cookie)).json().code).toBe(m.id === 1 ? 200 : -5);
    const made = (await get('/wechat/testlogin', m.cookie)).json();
    expect(made.code).toBe(200);
    const scene = sceneOf(ctx.fake.calls('/cgi-bin/qrcode/create').length - 1);
    const follow = await send(ctx, '/wechat/callback', platformAcc, event('o_new_follower', 'subscribe', `qrscene_${scene}`));
    expect(follow.reply).toMatch(/绑定成功.*follower/);
    expect(Number((await bindingOf('o_new_follower'))?.user_id)).toBe(m.id);
  });

  it("shows the platform account's follow QR on the register page; scanning it brings a code, never a binding", async () => {
    expect((await ctx.t.app.inject({ method: 'GET', url: '/api/v2/autoreply/platform' })).json()).toEqual({
      configured: true,
      qrImageUrl: '/api/v2/autoreply/platform/qr.png',
      name: null,
      wechatId: null,
    });
    const before = ctx.fake.calls('/cgi-bin/qrcode/create').length;
    const png = await ctx.t.app.inject({ method: 'GET', url: '/api/v2/autoreply/platform/qr.png' });
    expect(png.statusCode).toBe(200);
    expect(png.rawPayload.subarray(0, 4)).toEqual(PNG);
    expect(ctx.fake.calls('/cgi-bin/qrcode/create')[before].json()).toMatchObject({
      action_name: 'QR_STR_SCENE',
      action_info: { scene: { scene_str: 'register' } },
    });
    // Made once per process, not per page view.
    await ctx.t.app.inject({ method: 'GET', url: '/api/v2/autoreply/platform/qr.png' });
    expect(ctx.fake.calls('/cgi-bin/qrcode/create')).toHaveLength(before + 1);
    const scan = await send(ctx, '/wechat/callback', platformAcc, event('o_register_scan', 'SCAN', 'register'));
    expect(scan.reply).toMatch(/验证码：\d{6}/);
    const follow = await send(ctx, '/wechat/callback', platformAcc, event('o_register_follow', 'subscribe', 'qrscene_register'));
    expect(follow.reply).toMatch(/验证码：\d{6}/);
    expect(await bindingOf('o_register_scan')).toBeUndefined();
    expect(await bindingOf('o_register_follow')).toBeUndefined();
    // The REST twin of /wechat/testlogin.
    const m = await member(ctx, 'restbinder');
    const qr = await ctx.t.app.inject({ method: 'POST', url: '/api/v2/autoreply/bind-qr', headers: { ...ctx.origin, cookie: m.cookie } });
    expect(qr.json()).toMatchObject({ pid: expect.any(String), imageUrl: expect.stringMatching(/^\/static\/qrimages\/.+\.png$/) });
    expect((await ctx.t.app.inject({ method: 'GET', url: qr.json().imageUrl })).statusCode).toBe(200);
  });

  it('answers the same follow event three times with one code, and processes it once', async () => {
    const ev = event('o_retry', 'subscribe');
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await send(ctx, '/wechat/callback', platformAcc, ev));
    expect(new Set(answers.map((a) => a.reply)).size).toBe(1);
    expect(answers[0].reply).toMatch(/\d{6}/);
    const codes = await ctx.t.core.db.selectFrom('ar_registration_codes').select('id').where('openid', '=', 'o_retry').execute();
    expect(codes).toHaveLength(1);
    // A new CreateTime is a new event: a new code, and only the newest one works.
    expect((await codeFor(ctx, 'o_retry')).length).toBe(6);
    expect(await ctx.t.core.db.selectFrom('ar_registration_codes').select('id').where('openid', '=', 'o_retry').execute()).toHaveLength(1);
  });

  it('lets a bound member manage rules from WeChat with commands', async () => {
    const m = await member(ctx, 'commander', 'o_cmd');
    expect(m.setCookie).not.toMatch(/Secure/i);
    const cmd = async (t: string) => (await send(ctx, '/wechat/callback', platformAcc, text('o_cmd', t))).reply ?? '';
    const show = async () => (await get(`/mongodb/show?id=${m.id}`, m.cookie)).json().data;
    expect(await cmd('添加 营业时间 早九点到晚六点')).toMatch(/已添加 01/);
    expect(await cmd('添加 地址 北京路 1 号')).toMatch(/已添加 02/);
    expect(await show()).toEqual({ '01': { 营业时间: '早九点到晚六点' }, '02': { 地址: '北京路 1 号' } });
    expect(await cmd('添加 地址 别处')).toMatch(/已存在/);
    const list = await cmd('列表');
    expect(list).toContain('01 营业时间 → 早九点到晚六点');
    expect(list).toContain('02 地址 → 北京路 1 号');
    expect(await cmd('关闭')).toMatch(/已关闭/);
    expect((await get('/wechat/autoreply', m.cookie)).json().enabled).toBe(false);
    expect(await cmd('开启')).toMatch(/已开启/);
    expect((await get('/wechat/autoreply', m.cookie)).json().enabled).toBe(true);
    expect(await cmd('删除 营业时间')).toMatch(/已删除/);
    expect(await cmd('删除 02')).toMatch(/已删除/);
    expect(await cmd('删除 不存在')).toMatch(/没有找到/);
    expect(await show()).toEqual({});
    expect(await cmd('随便什么')).toMatch(/可用命令/);
    // Someone who is not bound changes nothing.
    expect((await send(ctx, '/wechat/callback', platformAcc, text('o_stranger', '添加 a b'))).reply).toMatch(/还没有绑定/);
    expect(await show()).toEqual({});
  });

  it('runs the simulator CLI command against a connected account over HTTP', async () => {
    const m = await member(ctx, 'simcli');
    const headers = { ...ctx.origin, cookie: m.cookie };
    const acc = (
      await ctx.t.app.inject({
        method: 'POST',
        url: '/api/v2/autoreply/accounts',
        headers,
        payload: {
          appid: 'wxsimcli000000001',
          secret: 'simclisecret0000000000001',
          token: 'simclitoken',
          aes_key: 'SimCliAesKey0123456789abcdefghijklmnopqrstu',
        },
      })
    ).json();
    await ctx.t.app.inject({
      method: 'POST',
      url: `/api/v2/autoreply/rules?account=${acc.id}`,
      headers,
      payload: { keywords: [{ text: '你好', match: 'contains' }], replies: ['您好，有什么可以帮您？'] },
    });
    const base = await ctx.t.listen();
    const program = new Command('volunteer-hub').exitOverride();
    registerAutoreplyCli(program, async () => ctx.t.core);
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out.push(String(s));
      return true;
    });
    try {
      const url = `${base}${new URL(acc.callback_url).pathname}`;
      await program.parseAsync([
        'node',
        'vh',
        'autoreply',
        'simulate',
        '--account',
        String(acc.id),
        '--url',
        url,
        '--text',
        '你好呀',
        '--json',
      ]);
      await program.parseAsync([
        'node',
        'vh',
        'autoreply',
        'simulate',
        '--url',
        url,
        '--appid',
        'wxsimcli000000001',
        '--token',
        'simclitoken',
        '--text',
        '你好',
        '--plain',
      ]);
    } finally {
      spy.mockRestore();
    }
    const json = JSON.parse(out[0]);
    expect(json).toMatchObject({ status: 200, encrypted: true, reply: '您好，有什么可以帮您？', msgType: 'text' });
    expect(json.raw).toContain('<Encrypt>');
    expect(out[1]).toMatch(/^HTTP 200 .*\(plain\)\nreply: 您好，有什么可以帮您？/);
  });
  // Last: it moves the clock past the codes' and the limiter's windows.
  it('gives a code on "验证码" that lasts 10 minutes, and limits wrong guesses', async () => {
    const register = (username: string, code: string) =>
      ctx.t.app
        .inject({
          method: 'POST',
          url: '/account/register',
          headers: ctx.origin,
          payload: { username, password: 'correct horse battery', last_name: code },
        })
        .then((r) => r.json());
    const late = /(\d{6})/.exec((await send(ctx, '/wechat/callback', platformAcc, text('o_late', '验证码'))).reply ?? '')![1];
    ctx.clock.now += 10 * 60_000 + 1000;
    expect((await register('late_user', late)).code).toBe(-1);

    const right = /(\d{6})/.exec((await send(ctx, '/wechat/callback', platformAcc, text('o_guess', '验证码'))).reply ?? '')![1];
    const wrong = right === '000000' ? '000001' : '000000';
    for (let i = 0; i < 9; i++) expect((await register('guesser', wrong)).code).toBe(-1);
    // Ten wrong guesses from this client: even the right code waits now, and the account is not made.
    const limited = await register('guesser', right);
    expect(limited.code).toBe(0);
    expect(limited.message).toMatch(/too many|try again/i);
    expect(await ctx.t.core.db.selectFrom('users').select('id').where('username', '=', 'guesser').executeTakeFirst()).toBeUndefined();
    ctx.clock.now += 16 * 60_000;
    const fresh = /(\d{6})/.exec((await send(ctx, '/wechat/callback', platformAcc, text('o_guess', '验证码'))).reply ?? '')![1];
    expect((await register('guesser', fresh)).code).toBe(200);
  });
});

describe.each(testDialects())('autoreply without WeChat, and behind HTTPS (%s)', (dialect) => {
  let off: Ctx;
  let https: Ctx;
  beforeAll(async () => {
    off = await startAutoreply(dialect, { mp: false });
    https = await startAutoreply(dialect, { publicUrl: 'https://hub.test' });
  });
  afterAll(async () => {
    await off?.close();
    await https?.close();
  });

  it('answers -3 with a clear message when WeChat is not configured', async () => {
    const login = await off.t.app.inject({
      method: 'POST',
      url: '/account/login',
      headers: off.origin,
      payload: { username: 'nobody', password: 'whatever it is' },
    });
    expect(login.json().code).toBe(-3);
    // A member made directly (without the platform account no code can be had).
    const { createAccountsService } = await import('../../src/modules/accounts/index.js');
    const accounts = createAccountsService({ db: off.t.core.db, dialect: off.t.core.dialect, now: Date.now });
    const user = await accounts.createUser({ username: 'solo', password: 'correct horse battery', isActive: true });
    const s = await accounts.createSession(user.id, 'autoreply');
    const r = (await off.t.app.inject({ method: 'GET', url: '/wechat/testlogin', headers: { cookie: `ar_session=${s.token}` } })).json();
    expect(r.code).toBe(-3);
    expect(r.message).toMatch(/WeChat is not configured.*WECHAT_MP_APPID/);
    expect(off.fake.requests).toHaveLength(0);
    expect((await off.t.app.inject({ method: 'GET', url: '/api/v2/autoreply/platform' })).json()).toEqual({
      configured: false,
      qrImageUrl: null,
      name: null,
      wechatId: null,
    });
    const qr = await off.t.app.inject({ method: 'GET', url: '/api/v2/autoreply/platform/qr.png' });
    expect(qr.statusCode).toBe(503);
    expect(qr.json().code).toBe('wechat_not_configured');
  });

  it('marks the session cookie Secure behind HTTPS, HttpOnly and SameSite=Lax always', async () => {
    const m = await member(https, 'secure1');
    expect(m.setCookie).toMatch(/ar_session=[^;]{20,};/);
    expect(m.setCookie).toMatch(/HttpOnly/i);
    expect(m.setCookie).toMatch(/SameSite=Lax/i);
    expect(m.setCookie).toMatch(/;\s*Secure/i);
  });
});
