/**
 * Test fixtures for the autoreply module: the real app on a real database with the platform
 * official account configured, a fake WeChat API on loopback, and a fake WeChat *sender* that
 * signs (and in safe mode encrypts) messages and posts them to our callbacks.
 */
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startFakeWechat, type FakeWechat } from '../helpers/fake-wechat.js';
import type { TestDialect } from '../helpers/db.js';
import { buildInbound, openReply, type CallbackAccount } from '../../src/platform/wechat/callback.js';

export const PUBLIC = 'http://hub.test';
/**
 * For expect.poll on work that crosses loopback HTTP (token, QR, customer-service calls): the
 * default 1 s is too short on a shared, loaded machine; a poll returns as soon as it holds.
 */
export const SLOW = { timeout: 10_000, interval: 20 };
export const ORIGIN = { origin: PUBLIC };
export const MP = {
  appid: 'wxplatform0000001',
  secret: 'platformsecret0000000001',
  token: 'platformtoken',
  aesKey: 'PlatformAesKey0123456789abcdefghijklmnopqrs',
};

export interface Ctx {
  t: TestApp;
  /** Origin header a same-site browser request carries. */
  origin: Record<string, string>;
  fake: FakeWechat;
  clock: { now: number };
  close(): Promise<void>;
}

export async function startAutoreply(
  dialect: TestDialect,
  opts: { mp?: boolean; publicUrl?: string; env?: Record<string, string>; logger?: import('pino').Logger } = {},
): Promise<Ctx> {
  const fake = await startFakeWechat();
  fake.on('/cgi-bin/token', () => ({ access_token: `AT-${fake.calls('/cgi-bin/token').length}`, expires_in: 7200 }));
  fake.on('/cgi-bin/message/custom/send', () => ({ errcode: 0, errmsg: 'ok' }));
  const clock = { now: Date.now() };
  const mpEnv: Record<string, string> =
    opts.mp === false
      ? {}
      : { WECHAT_MP_APPID: MP.appid, WECHAT_MP_SECRET: MP.secret, WECHAT_MP_TOKEN: MP.token, WECHAT_MP_AES_KEY: MP.aesKey };
  const publicUrl = opts.publicUrl ?? PUBLIC;
  const t = await startTestApp({
    dialect,
    env: { WECHAT_API_BASE: fake.url, PUBLIC_URL: publicUrl, ...mpEnv, ...opts.env },
    now: () => clock.now,
    logger: opts.logger,
  });
  return {
    t,
    origin: { origin: new URL(publicUrl).origin },
    fake,
    clock,
    async close() {
      await t.close();
      await fake.close();
    },
  };
}

let msgId = 1_000_000_000_000_000;

/** A text message from `openid` (fresh MsgId unless given). */
export function text(openid: string, content: string, id?: string): Record<string, string | number> {
  return {
    ToUserName: 'gh_acc',
    FromUserName: openid,
    CreateTime: 1_700_000_000,
    MsgType: 'text',
    Content: content,
    MsgId: id ?? String(++msgId),
  };
}

export function event(openid: string, ev: string, eventKey?: string): Record<string, string | number> {
  return {
    ToUserName: 'gh_acc',
    FromUserName: openid,
    CreateTime: 1_700_000_000 + (++msgId % 1000),
    MsgType: 'event',
    Event: ev,
    ...(eventKey === undefined ? {} : { EventKey: eventKey }),
  };
}

/** Signs and posts a message as WeChat would; answers the HTTP status, raw body and opened reply. */
export async function send(ctx: Ctx, path: string, acc: CallbackAccount, fields: Record<string, string | number>, encrypt = false) {
  const { query, body } = buildInbound(acc, fields, ctx.clock.now, encrypt);
  const r = await ctx.t.app.inject({ method: 'POST', url: path, query, payload: body, headers: { 'content-type': 'text/xml' } });
  const reply = r.statusCode === 200 ? openReply(acc, r.body) : null;
  return { status: r.statusCode, raw: r.body, reply: reply?.Content ?? null, fields: reply };
}

export const platformAcc: CallbackAccount = { appid: MP.appid, token: MP.token, aesKey: MP.aesKey };

/** Follows the platform account and takes the code from the reply. */
export async function codeFor(ctx: Ctx, openid: string): Promise<string> {
  const r = await send(ctx, '/wechat/callback', platformAcc, event(openid, 'subscribe'));
  const m = /(\d{6})/.exec(r.reply ?? '');
  if (!m) throw new Error(`no code in ${r.raw}`);
  return m[1];
}

/** Registers and logs in a member; answers its id and session cookie header. */
export async function member(
  ctx: Ctx,
  username: string,
  openid = `o_${username}`,
): Promise<{ id: number; cookie: string; setCookie: string }> {
  const code = await codeFor(ctx, openid);
  const reg = await ctx.t.app.inject({
    method: 'POST',
    url: '/account/register',
    headers: ctx.origin,
    payload: { username, password: 'correct horse battery', last_name: code },
  });
  if (reg.json().code !== 200) throw new Error(`register: ${reg.body}`);
  const login = await ctx.t.app.inject({
    method: 'POST',
    url: '/account/login',
    headers: ctx.origin,
    payload: { username, password: 'correct horse battery' },
  });
  const setCookie = String(login.headers['set-cookie']);
  return { id: login.json().id, cookie: setCookie.split(';')[0], setCookie };
}
