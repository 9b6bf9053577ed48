/** getOpenid against a fake WeChat on loopback: success, WeChat's errors, a slow WeChat, secrets kept. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/platform/crypto/tokens.js';
import { testDialects } from '../helpers/db.js';
import { APPID, SECRET, startMpApp, type MpTestApp } from './helpers.js';

describe.each(testDialects())('miniprogram getOpenid (%s)', (dialect) => {
  let t: MpTestApp;
  beforeAll(async () => {
    t = await startMpApp(dialect);
  });
  afterAll(async () => t?.close());

  it('trades the code for the openid and a random token, keeping session_key on the server only', async () => {
    const sessionKey = 'SESSION-KEY-tiWNIq7yYTcJHp0d';
    t.fake.on('/sns/jscode2session', () => ({ openid: 'oUser_success_1', session_key: sessionKey }));
    const res = await t.app.inject({ method: 'POST', url: '/service/user/getOpenid', payload: { js_code: '081abcDEF' } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.code).toBe(0);
    expect(body.msg).toBe('success');
    expect(Object.keys(body.data).sort()).toEqual(['openid', 'token']);
    expect(body.data.openid).toBe('oUser_success_1');
    expect(body.data.token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const call = t.fake.calls('/sns/jscode2session').at(-1)!;
    expect(call.method).toBe('GET');
    expect(call.query).toEqual({ appid: APPID, secret: SECRET, js_code: '081abcDEF', grant_type: 'authorization_code' });

    // Stored: the token only as its hash, the session_key only sealed.
    const rows = await t.core.db.selectFrom('miniprogram_sessions').selectAll().where('openid', '=', 'oUser_success_1').execute();
    expect(rows).toHaveLength(1);
    expect(rows[0].token_hash).toBe(hashToken(body.data.token));
    expect(rows[0].session_key).not.toContain(sessionKey);
    expect(t.core.secrets.open(rows[0].session_key!)).toBe(sessionKey);

    expect(res.body).not.toContain(sessionKey);
    expect(t.logs.join('')).not.toContain(sessionKey);
    expect(t.logs.join('')).not.toContain(SECRET);
    expect(t.logs.join('')).not.toContain(body.data.token);
  });

  it('answers each getOpenid with a new token, and the token opens the session', async () => {
    const a = await t.openSession('oUser_tokens');
    const b = await t.openSession('oUser_tokens');
    expect(a).not.toBe(b);
    const r = await t.post('getHistory', { openid: 'oUser_tokens', token: a });
    expect(r).toEqual({ code: 0, msg: 'success', data: [] });
  });

  it('keeps the 10 newest sessions of an openid; older tokens stop working', async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 12; i++) {
      t.clock.t += 1000;
      tokens.push(await t.openSession('oManySessions'));
    }
    const rows = await t.core.db.selectFrom('miniprogram_sessions').select('token_hash').where('openid', '=', 'oManySessions').execute();
    expect(rows).toHaveLength(10);
    expect((await t.post('getHistory', { openid: 'oManySessions', token: tokens[0] })).code).toBe(-1);
    expect((await t.post('getHistory', { openid: 'oManySessions', token: tokens[11] })).code).toBe(0);
  });

  it('maps WeChat errors to clear answers: 40029 -> -1, 45011 -> -2, busy -1 -> -2', async () => {
    t.fake.on('/sns/jscode2session', () => ({ errcode: 40029, errmsg: 'invalid code, rid: 1' }));
    let r = await t.post('getOpenid', { js_code: 'badcode' });
    expect(r.code).toBe(-1);
    expect(r.msg).toMatch(/40029/);
    expect(r.data).toEqual({ errcode: 40029 });

    t.fake.on('/sns/jscode2session', () => ({ errcode: 45011, errmsg: 'api minute-quota reach limit' }));
    r = await t.post('getOpenid', { js_code: 'code2' });
    expect(r.code).toBe(-2);
    expect(r.msg).toMatch(/too many logins.*45011/);

    t.fake.on('/sns/jscode2session', () => ({ errcode: -1, errmsg: 'system error' }));
    r = await t.post('getOpenid', { js_code: 'code3' });
    expect(r.code).toBe(-2);
    expect(r.msg).toMatch(/busy/);

    t.fake.on('/sns/jscode2session', () => ({ raw: true, status: 502, body: 'bad gateway', contentType: 'text/plain' }));
    r = await t.post('getOpenid', { js_code: 'code4' });
    expect(r.code).toBe(-2);
    expect(r.msg).toMatch(/HTTP 502/);
  });

  it('does not hang on a slow WeChat: answers "did not answer" after the timeout', async () => {
    // Its own app with a short timeout; the fake holds the answer until the test is over, so the
    // timeout is the only way this call can end.
    const slow = await startMpApp(dialect, { WECHAT_API_TIMEOUT_MS: '300' });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    try {
      slow.fake.on('/sns/jscode2session', async () => {
        await held;
        return { openid: 'oSlow', session_key: 'late' };
      });
      const r = await slow.post('getOpenid', { js_code: 'slowcode' });
      expect(r.code).toBe(-2);
      expect(r.msg).toMatch(/did not answer .*within 300 ms/);
      expect(slow.fake.calls('/sns/jscode2session')).toHaveLength(1);
      const rows = await slow.core.db.selectFrom('miniprogram_sessions').select('openid').where('openid', '=', 'oSlow').execute();
      expect(rows).toHaveLength(0);
    } finally {
      release();
      await slow.close();
    }
  });

  it('rejects a missing, wrongly typed or huge js_code with -1 without calling WeChat', async () => {
    const before = t.fake.calls('/sns/jscode2session').length;
    for (const body of [{}, { js_code: 123 }, { js_code: '' }, { js_code: 'x'.repeat(10_240) }, { js_code: 'a b', extra: '1' }]) {
      const r = await t.post('getOpenid', body);
      expect(r.code, JSON.stringify(body).slice(0, 50)).toBe(-1);
    }
    expect(t.fake.calls('/sns/jscode2session').length).toBe(before);
  });

  it('accepts the code as a form and in the query string', async () => {
    t.fake.on('/sns/jscode2session', (req) => ({ openid: `o_${req.query.js_code}`, session_key: 'k' }));
    const r = await t.postForm('getOpenid', { js_code: 'formcode' });
    expect(r.data.openid).toBe('o_formcode');
    const res = await t.app.inject({ method: 'POST', url: '/service/user/getOpenid?js_code=querycode' });
    expect(res.json().data.openid).toBe('o_querycode');
  });

  it('sweeps expired sessions of every openid (at most hourly, on a getOpenid)', async () => {
    await t.openSession('oSweepOld');
    t.clock.t += 31 * 24 * 3600 * 1000;
    await t.openSession('oSweepNew');
    const left = await t.core.db
      .selectFrom('miniprogram_sessions')
      .select('openid')
      .where('openid', 'in', ['oSweepOld', 'oSweepNew'])
      .execute();
    expect(left.map((r) => r.openid)).toEqual(['oSweepNew']);
  });
});

describe('miniprogram getOpenid without appid/secret', () => {
  it('answers -2 with a clear message', async () => {
    const t = await startMpApp('sqlite', { WECHAT_MINIPROGRAM_APPID: '', WECHAT_MINIPROGRAM_SECRET: '' });
    try {
      const r = await t.post('getOpenid', { js_code: 'abc' });
      expect(r.code).toBe(-2);
      expect(r.msg).toMatch(/not configured.*WECHAT_MINIPROGRAM_APPID/);
      expect(t.fake.requests).toHaveLength(0);
      // And the eight endpoints are in the OpenAPI page.
      const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
      for (const name of ['login', 'getOpenid', 'loginByOpenid', 'get', 'update', 'addHistory', 'getHistory', 'cleanHistory']) {
        const op = doc.paths[`/service/user/${name}`]?.post;
        expect(op, name).toBeDefined();
        expect(Object.keys(op.requestBody.content).sort(), name).toEqual(['application/json', 'application/x-www-form-urlencoded']);
        expect(op.description, name).toMatch(/-1 illegal parameters/);
        expect(op.responses['200'].content['application/json'].schema.properties, name).toHaveProperty('msg');
      }
    } finally {
      await t.close();
    }
  });
});
