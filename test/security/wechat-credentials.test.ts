/**
 * Issue 10 item 1: WeChat credentials are never shared between tenants. Connecting an official
 * account proves appid + secret with WeChat (a token request on the fake WeChat server on
 * loopback); a wrong secret is refused with WeChat's own errcode and errmsg; and two members with
 * the same appid and different secrets never use each other's access_token (we look at which
 * secret obtained the token each customer-service message carried).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { member, MP, ORIGIN, send, SLOW, startAutoreply, text, type Ctx } from '../autoreply/helpers.js';
import { EXTRA_REPLIES_KIND } from '../../src/modules/autoreply/extra-replies.js';

const APPID = 'wxshared00000001';
const S1 = 'rightsecret00000000000000000001';
const S2 = 'rotatedsecret000000000000000002';

describe.each(testDialects())('WeChat credentials per tenant (%s)', (dialect) => {
  let ctx: Ctx;
  /** Secrets WeChat accepts for APPID right now. */
  const accepted = new Set([S1]);
  /** Which secret obtained each access_token the fake handed out. */
  const tokenSecret = new Map<string, string>();
  let n = 0;

  beforeAll(async () => {
    ctx = await startAutoreply(dialect);
    ctx.fake.on('/cgi-bin/token', (r) => {
      if (r.query.appid === MP.appid && r.query.secret === MP.secret) return { access_token: `PLATFORM-${++n}`, expires_in: 7200 };
      if (r.query.appid !== APPID || !accepted.has(r.query.secret))
        return { errcode: 40125, errmsg: 'invalid appsecret, view more at http://t.cn/RAEkdVq rid: 1' };
      const token = `AT-${++n}`;
      tokenSecret.set(token, r.query.secret);
      return { access_token: token, expires_in: 7200 };
    });
  });
  afterAll(async () => ctx?.close());

  const api = (cookie: string, method: 'GET' | 'POST', url: string, payload?: unknown) =>
    ctx.t.app.inject({ method, url: `/api/v2/autoreply${url}`, payload: payload as object, headers: { ...ORIGIN, cookie } });

  async function connect(cookie: string, secret: string, token: string) {
    return api(cookie, 'POST', '/accounts', { appid: APPID, secret, token });
  }

  it('refuses a wrong secret with WeChat’s own errcode and errmsg, and saves nothing', async () => {
    const a = await member(ctx, 'tenanta');
    const r = await connect(a.cookie, 'madeupsecret0000000000000000000', 'tokena');
    expect(r.statusCode).toBe(400);
    const body = r.json<{ code: string; message: string }>();
    expect(body.code).toBe('wechat_refused');
    expect(body.message).toContain('40125');
    expect(body.message).toContain('invalid appsecret');
    expect((await api(a.cookie, 'GET', '/accounts')).json<{ accounts: unknown[] }>().accounts).toHaveLength(0);
    expect(await ctx.t.core.db.selectFrom('mp_accounts').select('id').where('appid', '=', APPID).execute()).toHaveLength(0);
  });

  it('an appid connected by one member is refused to another who cannot prove it', async () => {
    const owner = await member(ctx, 'tenantowner');
    expect((await connect(owner.cookie, S1, 'ownertoken')).statusCode).toBe(201);
    const thief = await member(ctx, 'tenantthief');
    const r = await connect(thief.cookie, 'guessedsecret00000000000000000', 'thieftoken');
    expect(r.statusCode).toBe(400);
    expect(r.json<{ code: string }>().code).toBe('wechat_refused');
  });

  it('two members with the same appid and different secrets never share a token', async () => {
    // tenantowner connected with S1 above. The secret is then rotated at WeChat (both still
    // answer here, as during a rotation) and a second member connects with the new one.
    accepted.add(S2);
    const owner = await member(ctx, 'tenantowner2', 'o_owner2');
    const other = await member(ctx, 'tenantother');
    const c1 = await connect(owner.cookie, S1, 'tokenone');
    const c2 = await connect(other.cookie, S2, 'tokentwo');
    expect(c1.statusCode).toBe(201);
    expect(c2.statusCode).toBe(201);
    const accs = [
      { cookie: owner.cookie, secret: S1, body: c1.json<{ id: number; callback_url: string }>(), token: 'tokenone', follower: 'fol_one' },
      { cookie: other.cookie, secret: S2, body: c2.json<{ id: number; callback_url: string }>(), token: 'tokentwo', follower: 'fol_two' },
    ];
    for (const a of accs) {
      const rule = await api(a.cookie, 'POST', `/rules?account=${a.body.id}`, {
        keywords: [{ text: 'hi', match: 'equal' }],
        replies: ['first', 'second'],
        mode: 'all',
      });
      expect(rule.statusCode).toBe(201);
    }
    for (const a of accs) {
      const path = new URL(a.body.callback_url).pathname;
      const r = await send(ctx, path, { appid: APPID, token: a.token, aesKey: null }, text(a.follower, 'hi'));
      expect(r.reply).toBe('first');
    }
    const sentTo = (openid: string) =>
      ctx.fake.calls('/cgi-bin/message/custom/send').filter((c) => (c.json() as { touser: string }).touser === openid);
    for (const a of accs) await expect.poll(() => sentTo(a.follower).length, SLOW).toBe(1);
    await expect
      .poll(async () => {
        const c = await ctx.t.core.jobs.counts(EXTRA_REPLIES_KIND);
        return (c.queued ?? 0) + (c.running ?? 0);
      }, SLOW)
      .toBe(0);
    for (const a of accs) {
      const used = sentTo(a.follower).map((c) => tokenSecret.get(c.query.access_token));
      expect(used).toEqual([a.secret]);
    }
  });
});
