/**
 * What the assistant's browser tests stand on: the real app on a free loopback port (also its
 * PUBLIC_URL, so callback URLs point at it), WeChat's API faked on loopback (tokens, QR codes,
 * customer-service messages), and a fake WeChat *sender* that signs (and in safe mode encrypts)
 * messages to our callbacks as WeChat does.
 */
import { freePort } from '../helpers/free-port.js';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { ensureWebBuilt } from './web-build.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startFakeWechat, type FakeWechat } from '../helpers/fake-wechat.js';
import { testDialects } from '../helpers/db.js';
import { buildInbound, openReply, type CallbackAccount } from '../../src/platform/wechat/callback.js';

/** The platform's own official account (WECHAT_MP_*). */
export const MP: CallbackAccount & { secret: string } = {
  appid: 'wxplatform0000001',
  secret: 'platformsecret0000000001',
  token: 'platformtoken',
  aesKey: 'PlatformAesKey0123456789abcdefghijklmnopqrs',
};
export const PHONE = { width: 360, height: 740 };
export const PASSWORD = 'correct horse battery';
export const mpEnv = (apiBase: string): Record<string, string> => ({
  WECHAT_API_BASE: apiBase,
  WECHAT_MP_APPID: MP.appid,
  WECHAT_MP_SECRET: MP.secret,
  WECHAT_MP_TOKEN: MP.token,
  WECHAT_MP_AES_KEY: MP.aesKey!,
});

let seq = 0;
export const text = (from: string, content: string) => ({
  ToUserName: 'gh_platform',
  FromUserName: from,
  CreateTime: Math.floor(Date.now() / 1000),
  MsgType: 'text',
  Content: content,
  MsgId: String(9_000_000 + ++seq),
});
export const event = (from: string, ev: string, key?: string) => ({
  ToUserName: 'gh_platform',
  FromUserName: from,
  CreateTime: Math.floor(Date.now() / 1000) + ++seq,
  MsgType: 'event',
  Event: ev,
  ...(key ? { EventKey: key } : {}),
});

/** A fake WeChat API that answers tokens, QR codes (their URL names the scene) and customer-service sends. */
export async function workingWechat(): Promise<FakeWechat> {
  const fake = await startFakeWechat();
  fake.on('/cgi-bin/token', () => ({ access_token: `AT-${fake.calls('/cgi-bin/token').length}`, expires_in: 7200 }));
  fake.on('/cgi-bin/message/custom/send', () => ({ errcode: 0, errmsg: 'ok' }));
  fake.on('/cgi-bin/qrcode/create', (req) => {
    const scene = req.json().action_info.scene.scene_str as string;
    return { ticket: `T-${scene}`, url: `http://weixin.qq.com/q/${scene}`, expire_seconds: req.json().expire_seconds };
  });
  return fake;
}

/** The scenes of the QR codes the app asked WeChat for, oldest first. */
export const qrScenes = (fake: FakeWechat): string[] =>
  fake.calls('/cgi-bin/qrcode/create').map((r) => r.json().action_info.scene.scene_str as string);

/** Builds the pages if needed and starts the real app on a free loopback port with PUBLIC_URL set to it. */
export async function startAssistantApp(env: Record<string, string>): Promise<{ t: TestApp; url: string }> {
  const [, port] = await Promise.all([ensureWebBuilt(), freePort()]);
  const url = `http://127.0.0.1:${port}`;
  const t = await startTestApp({ dialect: testDialects()[0] ?? 'sqlite', env: { PUBLIC_URL: url, ...env } });
  await t.app.listen({ port, host: '127.0.0.1' });
  return { t, url };
}

/** Posts a message to one of our callbacks as WeChat would (safe mode by default) and opens the reply. */
export async function wechatSends(
  base: string,
  path: string,
  acc: CallbackAccount,
  fields: Record<string, string | number>,
  encrypt = true,
): Promise<string | null> {
  const { query, body } = buildInbound(acc, fields, Date.now(), encrypt);
  const res = await fetch(`${base}${path}?${new URLSearchParams(query)}`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml' },
    body,
  });
  expect(res.status).toBe(200);
  return openReply(acc, await res.text())?.Content ?? null;
}

/** The page fits its width: nothing to scroll sideways. */
export async function fitsWidth(page: Page): Promise<void> {
  const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  expect(scroll).toBeLessThanOrEqual(client);
}
