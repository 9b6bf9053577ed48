/**
 * Processed once across a fleet (PostgreSQL): WeChat retries a message it got no answer for, to
 * any instance, and a late first delivery can overlap its retry. The same unmatched message sent
 * to two instances at once is recorded once, both get the same answer, and the follower's default
 * reply (with its time, written in the dedupe commit) goes out once; a random rule's pick is one.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { buildInbound, type CallbackAccount } from '../../src/platform/wechat/callback.js';
import { member, ORIGIN, startAutoreply, text, type Ctx } from './helpers.js';

describe.each(testDialects().filter((d) => d === 'postgres'))('autoreply webhook on two instances (%s)', () => {
  let ctx: Ctx;
  let second: TestApp;
  let path: string;
  const acc: CallbackAccount = { appid: 'wxtwoinstances001', token: 'twotoken' };

  // Instances of one fleet share the key that seals the accounts' secrets.
  const SECRET_KEY = randomBytes(32).toString('base64');

  beforeAll(async () => {
    ctx = await startAutoreply('postgres', { env: { SECRET_KEY } });
    const m = await member(ctx, 'owner2');
    const api = (method: 'POST' | 'PUT', url: string, payload: unknown) =>
      ctx.t.app.inject({ method, url: `/api/v2/autoreply${url}`, payload: payload as object, headers: { ...ORIGIN, cookie: m.cookie } });
    const r = await api('POST', '/accounts', { appid: acc.appid, secret: 'twosecret000000000000001', token: acc.token, aes_key: null });
    expect(r.statusCode).toBe(201);
    path = new URL(r.json().callback_url).pathname;
    expect((await api('PUT', `/settings?account=${r.json().id}`, { defaultReply: '稍后回复您' })).statusCode).toBe(200);
    const rule = { keywords: [{ text: '抽奖', match: 'equal' }], replies: ['一等奖', '二等奖', '三等奖'], mode: 'random' };
    expect((await api('POST', `/rules?account=${r.json().id}`, rule)).statusCode).toBe(201);
    second = await startTestApp({
      database: ctx.t.config.database,
      env: { WECHAT_API_BASE: ctx.fake.url, PUBLIC_URL: 'http://hub.test', SECRET_KEY },
      now: () => ctx.clock.now,
      startJobs: false,
    });
  });
  afterAll(async () => {
    await second?.close();
    await ctx?.close();
  });

  const post = (app: TestApp, fields: Record<string, string | number>) => {
    const { query, body } = buildInbound(acc, fields, ctx.clock.now, false);
    return app.app.inject({ method: 'POST', url: path, query, payload: body, headers: { 'content-type': 'text/xml' } });
  };

  it('answers a message delivered to both at once the same, and sends the default reply once', async () => {
    for (let i = 0; i < 5; i++) {
      const openid = `o-two-${i}`;
      const msg = text(openid, `随便说说 ${i}`);
      const [a, b] = await Promise.all([post(ctx.t, msg), post(second, msg)]);
      expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
      // One of them was first; the other got the stored answer, byte for byte.
      expect(a.body).toBe(b.body);
      expect(a.body).toContain('稍后回复您');
      const rows = await ctx.t.core.db.selectFrom('ar_default_replies').select('last_at').where('openid', '=', openid).execute();
      expect(rows).toHaveLength(1);
      // The next unmatched message, on either instance, gets no second default reply this hour.
      expect((await post(second, text(openid, '再说一句'))).body).toBe('success');
      expect((await post(ctx.t, text(openid, '还有一句'))).body).toBe('success');
    }
  });

  it('answers a random rule delivered to both at once with one pick', async () => {
    // Were both deliveries processed as first, each instance would pick on its own: 8 messages
    // agreeing by chance is (1/3)^8.
    for (let i = 0; i < 8; i++) {
      const msg = text(`o-draw-${i}`, '抽奖');
      const [a, b] = await Promise.all([post(ctx.t, msg), post(second, msg)]);
      expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
      expect(a.body).toMatch(/等奖/);
      expect(a.body).toBe(b.body);
    }
  });
});
