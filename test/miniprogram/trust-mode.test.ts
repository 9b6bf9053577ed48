/**
 * MINIPROGRAM_TRUST_CLIENT_OPENID=true: the seed's bare-openid behaviour for legacy clients, with a
 * warning at start; loginByOpenid works as documented and hands out a token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { registration, startMpApp, type MpTestApp } from './helpers.js';

describe.each(testDialects())('miniprogram trust mode (%s)', (dialect) => {
  let t: MpTestApp;
  beforeAll(async () => {
    t = await startMpApp(dialect, { MINIPROGRAM_TRUST_CLIENT_OPENID: 'true' });
  });
  afterAll(async () => t?.close());

  it('warns in the log at start', () => {
    const warn = t.logs.map((l) => JSON.parse(l)).find((l) => /MINIPROGRAM_TRUST_CLIENT_OPENID/.test(l.msg));
    expect(warn?.level).toBe(40);
  });

  it('follows the seed flow with bare openids: loginByOpenid -2, login, loginByOpenid with a token', async () => {
    let r = await t.post('loginByOpenid', { openid: 'oLegacy' });
    expect(r.code).toBe(-2);
    r = await t.post('login', registration('oLegacy'));
    expect(r.code).toBe(0);
    expect(r.data.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    r = await t.post('loginByOpenid', { openid: 'oLegacy' });
    expect(r.code).toBe(0);
    expect(r.data).toMatchObject({ openid: 'oLegacy', phone: '13812345678' });
    const token = r.data.token as string;
    // The issued token works, and it does matter in secure mode: here, stored like any session.
    const sess = await t.core.db.selectFrom('miniprogram_sessions').selectAll().where('openid', '=', 'oLegacy').execute();
    expect(sess.length).toBeGreaterThanOrEqual(2);
    expect(sess.every((s) => s.session_key === null)).toBe(true);
    expect((await t.post('get', { openid: 'oLegacy', token })).code).toBe(0);
  });

  it('get, update and history work with a bare openid, with the same validation', async () => {
    await t.post('login', registration('oLegacy2'));
    expect((await t.post('get', { openid: 'oLegacy2' })).data.phone).toBe('13812345678');
    expect((await t.post('get', { openid: 'oNobody' })).code).toBe(-4);
    expect((await t.postForm('update', { openid: 'oLegacy2', update: '{"phone":"13333333333"}' })).code).toBe(0);
    expect((await t.post('update', { openid: 'oLegacy2', update: '{"phone":"1"}' })).code).toBe(-1);
    expect((await t.post('update', { openid: 'oLegacy2', update: '{' })).code).toBe(-3);
    expect((await t.post('update', { openid: 'oLegacy2', update: '["13333333333"]' })).code).toBe(-4);
    expect((await t.post('update', { openid: 'oNobody', update: '{"phone":"13333333333"}' })).code).toBe(-2);
    expect((await t.post('get', { openid: 'x'.repeat(10_240) })).code).toBe(-1);
    expect((await t.post('get', { openid: 'oLegacy2' })).data.phone).toBe('13333333333');
    expect((await t.post('addHistory', { openid: 'oLegacy2', hist: 'a' })).data).toEqual(['a']);
    expect((await t.post('getHistory', { openid: 'oLegacy2' })).data).toEqual(['a']);
    expect((await t.post('cleanHistory', { openid: 'oLegacy2' })).data).toEqual([]);
    expect((await t.post('login', registration('oLegacy3', { phone: '12' }))).code).toBe(-1);
  });

  it('getOpenid still goes through WeChat and never answers the session_key', async () => {
    t.fake.on('/sns/jscode2session', () => ({ openid: 'oTrustCode', session_key: 'TRUST-MODE-SESSION-KEY' }));
    const res = await t.app.inject({ method: 'POST', url: '/service/user/getOpenid', payload: { js_code: 'c1' } });
    expect(res.json().data.openid).toBe('oTrustCode');
    expect(res.body).not.toContain('TRUST-MODE-SESSION-KEY');
    expect(t.logs.join('')).not.toContain('TRUST-MODE-SESSION-KEY');
  });
});
