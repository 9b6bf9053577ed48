/**
 * Issue 14, item 10 (server side): rules have names; replies are text, an image (a media_id of the
 * account's material library) or a link card (news), answered with WeChat's own passive reply XML
 * (plain and safe mode) and, beyond the first, through the customer-service API in its own
 * formats. Bad replies are refused in words and store nothing; the seed API keeps its shape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import type { CallbackAccount } from '../../src/platform/wechat/callback.js';
import { member, ORIGIN, send, startAutoreply, text, SLOW, type Ctx } from './helpers.js';

const AES = 'KindsAesKey0123456789abcdefghijklmnopqrstuv';
const IMAGE = { type: 'image', mediaId: 'Xq7_hNJ-LxG8vmFunz2Hjeb73X1IS02pu0jslBK24HAh' };
const NEWS = {
  type: 'news',
  title: '开放时间',
  description: '周一至周五 9:00-17:00',
  url: 'https://example.org/hours',
  picUrl: 'https://example.org/hours.jpg',
};

describe.each(testDialects())('autoreply: rule names, image and link replies (%s)', (dialect) => {
  let ctx: Ctx;
  let m: { id: number; cookie: string };
  let acc: CallbackAccount;
  let path: string;
  let accountId: number;
  const api = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
    ctx.t.app.inject({ method, url: `/api/v2/autoreply${url}`, payload: payload as object, headers: { ...ORIGIN, cookie: m.cookie } });
  const sentTo = (openid: string) => ctx.fake.calls('/cgi-bin/message/custom/send').filter((c) => c.json().touser === openid);

  beforeAll(async () => {
    ctx = await startAutoreply(dialect, { env: { WECHAT_MP_NAME: '志愿者小助手', WECHAT_MP_WECHAT_ID: 'volunteer_helper' } });
    m = await member(ctx, 'kinds1');
    const r = await api('POST', '/accounts', {
      appid: 'wxkinds0000000001',
      secret: 'kindssecret00000000000001',
      token: 'kindstoken',
      aes_key: AES,
    });
    expect(r.statusCode).toBe(201);
    accountId = r.json().id;
    path = new URL(r.json().callback_url).pathname;
    acc = { appid: 'wxkinds0000000001', token: 'kindstoken', aesKey: AES };
  });
  afterAll(async () => ctx?.close());

  it("tells the platform account's name and WeChat ID, for people on a phone who cannot scan", async () => {
    const r = await ctx.t.app.inject({ method: 'GET', url: '/api/v2/autoreply/platform' });
    expect(r.json()).toEqual({
      configured: true,
      qrImageUrl: '/api/v2/autoreply/platform/qr.png',
      name: '志愿者小助手',
      wechatId: 'volunteer_helper',
    });
  });

  it('stores a rule name and typed replies, and answers them as the API shows them', async () => {
    const r = await api('POST', `/rules?account=${accountId}`, {
      name: '  Opening hours ',
      keywords: [{ text: '几点开门' }],
      replies: [NEWS, '也可以打电话问我们', IMAGE],
    });
    expect(r.statusCode, r.body).toBe(201);
    const rule = r.json();
    expect(rule.name).toBe('Opening hours');
    expect(rule.replies).toEqual([NEWS, '也可以打电话问我们', IMAGE]);
    expect((await api('GET', `/rules/${rule.id}?account=${accountId}`)).json()).toMatchObject({
      name: 'Opening hours',
      replies: [NEWS, '也可以打电话问我们', IMAGE],
    });
    // Searching finds it by its name.
    expect((await api('GET', `/rules?account=${accountId}&q=opening`)).json().total).toBe(1);
    // Renamed (and the name cleared again) by PUT.
    const put = await api('PUT', `/rules/${rule.id}?account=${accountId}`, {
      name: '营业时间',
      keywords: [{ text: '几点开门' }],
      replies: [NEWS, '也可以打电话问我们', IMAGE],
    });
    expect(put.json().name).toBe('营业时间');
    expect(put.json().key).toBe(rule.key);
  });

  it('answers with WeChat passive news and image XML, in plain and safe mode, the rest by the customer-service API', async () => {
    const plain = await send(ctx, path, acc, text('k1', '几点开门'));
    expect(plain.status).toBe(200);
    expect(plain.fields).toMatchObject({
      ToUserName: 'k1',
      MsgType: 'news',
      ArticleCount: '1',
      'Articles.item.Title': NEWS.title,
      'Articles.item.Description': NEWS.description,
      'Articles.item.Url': NEWS.url,
      'Articles.item.PicUrl': NEWS.picUrl,
    });
    expect(plain.raw).toMatch(
      /<MsgType><!\[CDATA\[news\]\]><\/MsgType><ArticleCount>1<\/ArticleCount><Articles><item><Title><!\[CDATA\[开放时间\]\]><\/Title>/,
    );
    const safe = await send(ctx, path, acc, text('k1s', '几点开门'), true);
    expect(safe.raw).toContain('<Encrypt>');
    expect(safe.raw).not.toContain('开放时间');
    expect(safe.fields).toMatchObject({ MsgType: 'news', 'Articles.item.Url': NEWS.url });

    // The text and the image follow as customer-service messages, in order, in WeChat's formats.
    await expect.poll(() => sentTo('k1').length, SLOW).toBe(2);
    const bodies = sentTo('k1').map((c) => c.json());
    expect(bodies).toEqual([
      { touser: 'k1', msgtype: 'text', text: { content: '也可以打电话问我们' } },
      { touser: 'k1', msgtype: 'image', image: { media_id: IMAGE.mediaId } },
    ]);

    // An image first: the passive reply is WeChat's image XML.
    await api('POST', `/rules?account=${accountId}`, { keywords: [{ text: '地图' }], replies: [IMAGE, NEWS] });
    const img = await send(ctx, path, acc, text('k2', '地图'), true);
    expect(img.fields).toMatchObject({ MsgType: 'image', 'Image.MediaId': IMAGE.mediaId });
    await expect.poll(() => sentTo('k2').length, SLOW).toBe(1);
    expect(sentTo('k2')[0].json()).toEqual({
      touser: 'k2',
      msgtype: 'news',
      news: { articles: [{ title: NEWS.title, description: NEWS.description, url: NEWS.url, picurl: NEWS.picUrl }] },
    });

    // The simulator shows what was answered.
    const sim = await api('POST', `/accounts/${accountId}/simulate`, { text: '地图' });
    expect(sim.json()).toMatchObject({ msgType: 'image', reply: `[image] ${IMAGE.mediaId}` });
  });

  it('refuses bad replies and names in words and stores nothing', async () => {
    const before = (await api('GET', `/rules?account=${accountId}`)).json().total;
    const cases: [unknown, RegExp][] = [
      [{ keywords: [{ text: 'a1' }], replies: [{ type: 'image', mediaId: '' }] }, /media_id|mediaId/],
      [{ keywords: [{ text: 'a2' }], replies: [{ type: 'image', mediaId: 'has spaces in it' }] }, /media_id/],
      [{ keywords: [{ text: 'a3' }], replies: [{ ...NEWS, url: 'javascript:alert(1)' }] }, /http/],
      [{ keywords: [{ text: 'a4' }], replies: [{ ...NEWS, url: 'not a url' }] }, /http/],
      [{ keywords: [{ text: 'a5' }], replies: [{ ...NEWS, picUrl: 'ftp://example.org/x.jpg' }] }, /http/],
      [{ keywords: [{ text: 'a6' }], replies: [{ ...NEWS, title: '' }] }, /title/],
      [{ keywords: [{ text: 'a7' }], replies: [{ type: 'video', mediaId: 'x' }] }, /./],
      [{ name: 'n'.repeat(61), keywords: [{ text: 'a8' }], replies: ['hi'] }, /name|60/],
    ];
    for (const [body, message] of cases) {
      const r = await api('POST', `/rules?account=${accountId}`, body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.json().message, JSON.stringify(body)).toMatch(message);
    }
    expect((await api('GET', `/rules?account=${accountId}`)).json().total).toBe(before);
  });

  it('exports and imports names and typed replies; the seed API keeps its text-only shape', async () => {
    const exp = (await api('GET', `/export?account=${accountId}`)).json();
    const named = exp.rules.find((r: { name?: string }) => r.name === '营业时间');
    expect(named.replies).toEqual([NEWS, '也可以打电话问我们', IMAGE]);
    const imported = await api('POST', '/import', { replace: true, rules: exp.rules });
    expect(imported.json()).toEqual({ imported: exp.rules.length });
    const mine = (await api('GET', '/rules')).json().rules;
    expect(mine.find((r: { name: string | null }) => r.name === '营业时间').replies).toEqual([NEWS, '也可以打电话问我们', IMAGE]);

    // The seed's view: {key: {received: reply}}, a link card as its one-line summary.
    const seed = await ctx.t.app.inject({ method: 'GET', url: `/mongodb/show?id=${m.id}`, headers: { ...ORIGIN, cookie: m.cookie } });
    const view = seed.json();
    const pairs = Object.values(view.data ?? view).find((p) => typeof p === 'object' && p && '几点开门' in p) as Record<string, string>;
    expect(pairs['几点开门']).toBe(`[链接] ${NEWS.title} ${NEWS.url}`);
    // The seed's add still takes text pairs.
    const add = await ctx.t.app.inject({
      method: 'POST',
      url: `/mongodb/add?id=${m.id}`,
      headers: { ...ORIGIN, cookie: m.cookie },
      payload: { 你好: '你好呀' },
    });
    expect(add.json().code).toBe(200);
  });
});
