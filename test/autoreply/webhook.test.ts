/**
 * A member's connected official account: URL verification, plain and safe-mode messages, the
 * rules model (equal/contains, all/random, follow and default replies), refusals (signature,
 * stale timestamp, XXE), and WeChat's retries answered identically and processed once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { wechatSignature } from '../../src/platform/wechat/signature.js';
import type { CallbackAccount } from '../../src/platform/wechat/callback.js';
import { EXTRA_REPLIES_KIND } from '../../src/modules/autoreply/extra-replies.js';
import { event, member, ORIGIN, send, startAutoreply, text, SLOW, type Ctx } from './helpers.js';

const AES = 'MemberAesKey0123456789abcdefghijklmnopqrstu';

describe.each(testDialects())('autoreply webhook (%s)', (dialect) => {
  let ctx: Ctx;
  let m: { id: number; cookie: string };
  let acc: CallbackAccount;
  let path: string;
  let accountId: number;
  const api = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
    ctx.t.app.inject({ method, url: `/api/v2/autoreply${url}`, payload: payload as object, headers: { ...ORIGIN, cookie: m.cookie } });

  beforeAll(async () => {
    ctx = await startAutoreply(dialect);
    m = await member(ctx, 'owner1');
    const r = await api('POST', '/accounts', {
      appid: 'wxmember000000001',
      secret: 'membersecret000000000001',
      token: 'membertoken',
      aes_key: AES,
    });
    expect(r.statusCode).toBe(201);
    const body = r.json();
    expect(JSON.stringify(body)).not.toContain('membersecret');
    expect(body.callback_url).toMatch(/^http:\/\/hub\.test\/wechat\/callback\/[A-Za-z0-9_-]{20,}$/);
    accountId = body.id;
    path = new URL(body.callback_url).pathname;
    acc = { appid: 'wxmember000000001', token: 'membertoken', aesKey: AES };
    const rule = (keywords: unknown, replies: string[], mode = 'all') =>
      api('POST', `/rules?account=${accountId}`, { keywords, replies, mode });
    expect(
      (
        await rule(
          [
            { text: '价格', match: 'equal' },
            { text: 'price', match: 'equal' },
          ],
          ['十元', '包邮'],
        )
      ).statusCode,
    ).toBe(201);
    expect((await rule([{ text: '地址', match: 'contains' }], ['北京路 1 号'])).statusCode).toBe(201);
    expect((await rule([{ text: 'x]]>', match: 'equal' }], ['a]]></Content><x>'])).statusCode).toBe(201);
    expect((await rule([{ text: '抽奖', match: 'equal' }], ['一等奖', '二等奖', '三等奖'], 'random')).statusCode).toBe(201);
  });
  afterAll(async () => ctx?.close());
  const sentTo = (openid: string) => ctx.fake.calls('/cgi-bin/message/custom/send').filter((c) => c.json().touser === openid);
  const queueDrained = () =>
    expect
      .poll(async () => {
        const c = await ctx.t.core.jobs.counts(EXTRA_REPLIES_KIND);
        return (c.queued ?? 0) + (c.running ?? 0);
      }, SLOW)
      .toBe(0);

  it('verifies the callback URL with echostr and records it', async () => {
    const ts = String(Math.floor(ctx.clock.now / 1000));
    const ok = await ctx.t.app.inject({
      method: 'GET',
      url: path,
      query: { signature: wechatSignature('membertoken', ts, 'n'), timestamp: ts, nonce: 'n', echostr: 'echo-42' },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe('echo-42');
    const bad = await ctx.t.app.inject({
      method: 'GET',
      url: path,
      query: { signature: wechatSignature('other', ts, 'n'), timestamp: ts, nonce: 'n', echostr: 'echo-42' },
    });
    expect(bad.statusCode).toBe(401);
    expect(bad.body).not.toContain('echo-42');
    expect((await api('GET', `/accounts/${accountId}`)).json().verifiedAt).toBeGreaterThan(0);
  });

  it('answers in plain and safe mode, equal and contains, and escapes reply text', async () => {
    const plain = await send(ctx, path, acc, text('f1', ' PRICE '));
    expect(plain).toMatchObject({ status: 200, reply: '十元' });
    expect(plain.fields?.ToUserName).toBe('f1');
    const aes = await send(ctx, path, acc, text('f1', '价格'), true);
    expect(aes.raw).toContain('<Encrypt>');
    expect(aes.raw).not.toContain('十元');
    expect(aes.reply).toBe('十元');
    expect((await send(ctx, path, acc, text('f1', '请问你们的地址在哪'))).reply).toBe('北京路 1 号');
    const tricky = await send(ctx, path, acc, text('f1', 'x]]>'));
    expect(tricky.reply).toBe('a]]></Content><x>');
    expect(tricky.fields?.MsgType).toBe('text');
    expect(['一等奖', '二等奖', '三等奖']).toContain((await send(ctx, path, acc, text('f1', '抽奖'))).reply);
    const none = await send(ctx, path, acc, text('f1', '没有规则'));
    expect(none.raw).toBe('success');
  });

  it('sends replies beyond the first through the customer-service API', async () => {
    // Each test writes to its own follower: extra replies are a job, so earlier tests' sends may
    // still be arriving and a global count would race with them.
    expect((await send(ctx, path, acc, text('f2', 'price'))).reply).toBe('十元');
    await expect.poll(() => sentTo('f2').length, SLOW).toBe(1);
    await queueDrained();
    const sent = sentTo('f2');
    expect(sent).toHaveLength(1);
    expect(sent[0].json()).toEqual({ touser: 'f2', msgtype: 'text', text: { content: '包邮' } });
    expect(sent[0].query.access_token).toMatch(/^AT-/);
  });

  it('retries an extra reply WeChat could not take, and gives up on one it refuses', async () => {
    let busy = 1;
    ctx.fake.on('/cgi-bin/message/custom/send', (r) => {
      const to = r.json().touser;
      if (to === 'f2busy' && busy-- > 0) return { raw: true, status: 503, body: 'busy' };
      if (to === 'f2gone') return { errcode: 45015, errmsg: 'response out of time limit or subscription is canceled' };
      return { errcode: 0, errmsg: 'ok' };
    });
    try {
      expect((await send(ctx, path, acc, text('f2busy', 'price'))).reply).toBe('十元');
      expect((await send(ctx, path, acc, text('f2gone', 'price'))).reply).toBe('十元');
      // The busy one is tried again after its backoff (2 s) and arrives.
      await expect.poll(() => sentTo('f2busy').length, { timeout: 15_000, interval: 100 }).toBe(2);
      await queueDrained();
      expect(sentTo('f2gone')).toHaveLength(1);
      expect((await ctx.t.core.jobs.counts(EXTRA_REPLIES_KIND)).failed).toBeGreaterThanOrEqual(1);
    } finally {
      ctx.fake.on('/cgi-bin/message/custom/send', () => ({ errcode: 0, errmsg: 'ok' }));
    }
  });

  it('answers the same MsgId three times identically and processes it once', async () => {
    const msg = text('f3', '价格', '7777777777777777777');
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await send(ctx, path, acc, msg));
    expect(new Set(answers.map((a) => a.raw)).size).toBe(1);
    expect(answers[0].reply).toBe('十元');
    // Once the queue is empty every extra reply that was ever queued has been sent: exactly one.
    await expect.poll(() => sentTo('f3').length, SLOW).toBe(1);
    await queueDrained();
    expect(sentTo('f3')).toHaveLength(1);
    const rows = await ctx.t.core.db
      .selectFrom('ar_processed_messages')
      .selectAll()
      .where('msg_key', '=', 'm:7777777777777777777')
      .execute();
    expect(rows).toHaveLength(1);
    // A random rule retried keeps its first pick.
    const lucky = text('f3', '抽奖', '8888888888888888888');
    const picks = new Set<string | null>();
    for (let i = 0; i < 5; i++) picks.add((await send(ctx, path, acc, lucky)).reply);
    expect(picks.size).toBe(1);
  });

  it('refuses a wrong signature, a stale timestamp and XML entities', async () => {
    expect((await send(ctx, path, { ...acc, token: 'wrongtoken' }, text('f4', '价格'))).status).toBe(401);
    expect((await send(ctx, path, { ...acc, token: 'wrongtoken' }, text('f4', '价格'), true)).status).toBe(401);
    const real = ctx.clock.now;
    ctx.clock.now = real - 10 * 60_000;
    const { buildInbound } = await import('../../src/platform/wechat/callback.js');
    const stale = buildInbound(acc, text('f4', '价格'), ctx.clock.now, false);
    ctx.clock.now = real;
    const r = await ctx.t.app.inject({
      method: 'POST',
      url: path,
      query: stale.query,
      payload: stale.body,
      headers: { 'content-type': 'text/xml' },
    });
    expect(r.statusCode).toBe(403);
    // XXE: the entity would pull a local file into Content; refused before any parsing.
    const ts = String(Math.floor(ctx.clock.now / 1000));
    const xxe = `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/hostname">]><xml><ToUserName>gh</ToUserName><FromUserName>f4</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&e;</Content><MsgId>1</MsgId></xml>`;
    const x = await ctx.t.app.inject({
      method: 'POST',
      url: path,
      query: { signature: wechatSignature('membertoken', ts, 'n'), timestamp: ts, nonce: 'n' },
      payload: xxe,
      headers: { 'content-type': 'text/xml' },
    });
    expect(x.statusCode).toBe(400);
    expect(x.body).toMatch(/not accepted/);
    // An external entity on loopback, plain and inside a safe-mode message: never fetched.
    const remote = `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "${ctx.fake.url}/xxe">]><xml><ToUserName>gh</ToUserName><FromUserName>f4</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&e;</Content><MsgId>2</MsgId></xml>`;
    const r1 = await ctx.t.app.inject({
      method: 'POST',
      url: path,
      query: { signature: wechatSignature('membertoken', ts, 'n'), timestamp: ts, nonce: 'n' },
      payload: remote,
      headers: { 'content-type': 'text/xml' },
    });
    expect(r1.statusCode).toBe(400);
    const { encryptMessage } = await import('../../src/platform/wechat/message-crypto.js');
    const enc = encryptMessage(AES, acc.appid, remote);
    const r2 = await ctx.t.app.inject({
      method: 'POST',
      url: path,
      query: {
        signature: wechatSignature('membertoken', ts, 'n'),
        timestamp: ts,
        nonce: 'n',
        encrypt_type: 'aes',
        msg_signature: wechatSignature('membertoken', ts, 'n', enc),
      },
      payload: `<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[${enc}]]></Encrypt></xml>`,
      headers: { 'content-type': 'text/xml' },
    });
    expect(r2.statusCode).toBe(400);
    expect(r2.body).toMatch(/not accepted/);
    expect(ctx.fake.calls('/xxe')).toHaveLength(0);
    const big = await ctx.t.app.inject({
      method: 'POST',
      url: path,
      query: { signature: wechatSignature('membertoken', ts, 'n'), timestamp: ts, nonce: 'n' },
      payload: `<xml>${'a'.repeat(70_000)}</xml>`,
      headers: { 'content-type': 'text/xml' },
    });
    expect(big.statusCode).toBe(413);
    expect(
      (
        await ctx.t.app.inject({
          method: 'POST',
          url: '/wechat/callback/nosuchaccount000',
          payload: '<xml/>',
          headers: { 'content-type': 'text/xml' },
        })
      ).statusCode,
    ).toBe(404);
  });

  it('sends the follow reply, the default reply at most hourly, and nothing when switched off', async () => {
    expect((await api('PUT', `/settings?account=${accountId}`, { followReply: '欢迎！', defaultReply: '稍后回复您' })).statusCode).toBe(
      200,
    );
    expect((await send(ctx, path, acc, event('f5', 'subscribe'))).reply).toBe('欢迎！');
    expect((await send(ctx, path, acc, text('f5', '随便说说'))).reply).toBe('稍后回复您');
    expect((await send(ctx, path, acc, text('f5', '再说一句'))).raw).toBe('success');
    ctx.clock.now += 61 * 60_000;
    expect((await send(ctx, path, acc, text('f5', '一小时后'))).reply).toBe('稍后回复您');
    expect((await send(ctx, path, acc, text('f5', '价格'))).reply).toBe('十元');
    // The member's own switch (the seed's /wechat/autoreply) silences every account of theirs.
    const off = await ctx.t.app.inject({
      method: 'POST',
      url: '/wechat/autoreply',
      payload: { enabled: false },
      headers: { ...ORIGIN, cookie: m.cookie },
    });
    expect(off.json().enabled).toBe(false);
    expect((await send(ctx, path, acc, text('f5', '价格'))).raw).toBe('success');
    await ctx.t.app.inject({
      method: 'POST',
      url: '/wechat/autoreply',
      payload: { enabled: true },
      headers: { ...ORIGIN, cookie: m.cookie },
    });
    expect((await send(ctx, path, acc, text('f5', '价格'))).reply).toBe('十元');
  });

  it('exports and imports rules, refuses duplicates with 409, and simulates', async () => {
    const exp = (await api('GET', `/export?account=${accountId}`)).json();
    expect(exp.rules).toHaveLength(4);
    const dup = await api('POST', `/rules?account=${accountId}`, { keywords: [{ text: 'Price' }], replies: ['x'] });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('duplicate_keyword');
    const imp = await api('POST', '/import', { replace: true, rules: exp.rules });
    expect(imp.json()).toEqual({ imported: 4 });
    const mine = (await api('GET', '/rules?q=地址')).json();
    expect(mine.total).toBe(1);
    // Imported in the exported order, so keys follow it (地址 was the second rule) and match
    // the seed's view of the same rules.
    expect(mine.rules[0]).toMatchObject({ key: '02', keywords: [{ text: '地址', match: 'contains' }], replies: ['北京路 1 号'] });
    const seedView = (await ctx.t.app.inject({ method: 'GET', url: `/mongodb/show?id=${m.id}`, headers: { cookie: m.cookie } })).json();
    expect(seedView.data['02']).toEqual({ 地址: '北京路 1 号' });
    expect(Object.keys(seedView.data)).toEqual(['01', '02', '03', '04']);
    const sim = await api('POST', `/accounts/${accountId}/simulate`, { text: '价格' });
    expect(sim.json()).toMatchObject({ status: 200, encrypted: true, reply: '十元', msgType: 'text' });
    const simPlain = await api('POST', `/accounts/${accountId}/simulate`, { event: 'subscribe', encrypt: false });
    expect(simPlain.json()).toMatchObject({ status: 200, encrypted: false, reply: '欢迎！' });
    const bad = await api('POST', `/accounts/${accountId}/simulate`, { text: 'a', event: 'subscribe' });
    expect(bad.statusCode).toBe(400);
    const other = await member(ctx, 'intruder');
    const peek = await ctx.t.app.inject({
      method: 'GET',
      url: `/api/v2/autoreply/rules?account=${accountId}`,
      headers: { cookie: other.cookie },
    });
    expect(peek.statusCode).toBe(404);
    const del = await api('DELETE', `/accounts/${accountId}`);
    expect(del.statusCode).toBe(204);
    ctx.clock.now += 2000;
    expect((await send(ctx, path, acc, text('f6', '价格'))).status).toBe(404);
  });
});
