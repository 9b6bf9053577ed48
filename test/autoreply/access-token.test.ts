/**
 * access_token shared through the database: two instances (two caches over one store) refresh it
 * once between them, refresh before expiry, retry a call once with a fresh token when WeChat says
 * the token is invalid, and give the lease back when a refresh fails. The token is sealed at rest.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { createAccessTokens, credentialsKey } from '../../src/platform/wechat/access-token.js';
import { createMpApi } from '../../src/platform/wechat/mp-api.js';
import { createWechatRepo } from '../../src/modules/autoreply/wechat-repo.js';
import { createTokenStore } from '../../src/modules/autoreply/token-store.js';
import { startAutoreply, SLOW, type Ctx } from './helpers.js';

const APPID = 'wxtokentest000001';
const SECRET = 'tokentestsecret000000001';

describe.each(testDialects())('autoreply access_token (%s)', (dialect) => {
  let ctx: Ctx;
  let gate: Promise<void> = Promise.resolve();
  let release: () => void = () => {};
  let tokenAnswer: () => unknown;
  beforeAll(async () => {
    ctx = await startAutoreply(dialect, { mp: false });
    tokenAnswer = () => ({ access_token: `TK-${tokenCalls().length}`, expires_in: 7200 });
    ctx.fake.on('/cgi-bin/token', async () => {
      await gate;
      return tokenAnswer();
    });
  });
  afterAll(async () => ctx?.close());
  // A failed assertion must not leave WeChat's fake hanging for the tests after it.
  afterEach(() => release());
  const tokenCalls = () => ctx.fake.calls('/cgi-bin/token').filter((c) => c.query.appid === APPID);
  const instance = () => {
    const store = createTokenStore(createWechatRepo(ctx.t.core.db), ctx.t.core.secrets);
    return createAccessTokens({ http: { apiBase: ctx.fake.url, timeoutMs: 5000 }, store, now: () => ctx.clock.now, pollMs: 5 });
  };

  it('is fetched once by two instances at the same time, and sealed at rest', async () => {
    const a = instance();
    const b = instance();
    gate = new Promise((r) => (release = r));
    const pa = a.get(APPID, SECRET);
    await expect.poll(() => tokenCalls().length, SLOW).toBe(1);
    const pb = b.get(APPID, SECRET);
    const pa2 = a.get(APPID, SECRET);
    release();
    const got = await Promise.all([pa, pb, pa2]);
    expect(got).toEqual(['TK-1', 'TK-1', 'TK-1']);
    expect(tokenCalls()).toHaveLength(1);
    expect(tokenCalls()[0].query).toMatchObject({ grant_type: 'client_credential', appid: APPID, secret: SECRET });
    const row = await ctx.t.core.db
      .selectFrom('ar_access_tokens')
      .selectAll()
      .where('appid', '=', credentialsKey(APPID, SECRET))
      .executeTakeFirstOrThrow();
    expect(row.token_sealed).not.toContain('TK-1');
    expect(row.lease_owner).toBeNull();
    // A third instance starting later reads it from the store.
    expect(await instance().get(APPID, SECRET)).toBe('TK-1');
    expect(tokenCalls()).toHaveLength(1);
  });

  it('is refreshed before it expires, by one instance, the other picking it up', async () => {
    const a = instance();
    const b = instance();
    expect(await a.get(APPID, SECRET)).toBe('TK-1');
    expect(await b.get(APPID, SECRET)).toBe('TK-1');
    // 4 minutes before expiry: inside the 5-minute margin.
    ctx.clock.now += (7200 - 240) * 1000;
    expect(await a.get(APPID, SECRET)).toBe('TK-2');
    expect(await b.get(APPID, SECRET)).toBe('TK-2');
    expect(tokenCalls()).toHaveLength(2);
  });

  it('retries a call once with a fresh token when WeChat says the token is invalid', async () => {
    const tokens = instance();
    const api = createMpApi({ apiBase: ctx.fake.url, timeoutMs: 5000 }, tokens);
    const seen: string[] = [];
    ctx.fake.on('/cgi-bin/message/custom/send', (r) => {
      seen.push(r.query.access_token);
      return seen.length === 1 ? { errcode: 40001, errmsg: 'invalid credential' } : { errcode: 0, errmsg: 'ok' };
    });
    await api.sendText({ appid: APPID, secret: SECRET }, 'o_user', 'hi');
    expect(seen).toEqual(['TK-2', 'TK-3']);
    expect(tokenCalls()).toHaveLength(3);
  });

  it('gives the lease back when a refresh fails, so the next try does not wait', async () => {
    const tokens = instance();
    ctx.clock.now += 7200 * 1000;
    tokenAnswer = () => ({ errcode: 40013, errmsg: 'invalid appid' });
    await expect(tokens.get(APPID, SECRET)).rejects.toThrow(/40013/);
    const row = await ctx.t.core.db
      .selectFrom('ar_access_tokens')
      .selectAll()
      .where('appid', '=', credentialsKey(APPID, SECRET))
      .executeTakeFirstOrThrow();
    expect(row.lease_owner).toBeNull();
    tokenAnswer = () => ({ access_token: 'TK-fixed', expires_in: 7200 });
    expect(await instance().get(APPID, SECRET)).toBe('TK-fixed');
  });
});
