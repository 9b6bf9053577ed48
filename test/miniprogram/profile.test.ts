/**
 * login, loginByOpenid, get and update with tokens (the default, secure mode): every documented
 * code, JSON and form bodies, and bad input that changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { SESSION_TTL_MS } from '../../src/modules/miniprogram/sessions.js';
import { registration, startMpApp, type MpTestApp } from './helpers.js';

describe.each(testDialects())('miniprogram profile, secure mode (%s)', (dialect) => {
  let t: MpTestApp;
  beforeAll(async () => {
    t = await startMpApp(dialect);
  });
  afterAll(async () => t?.close());

  const rowOf = (openid: string) => t.core.db.selectFrom('miniprogram_profiles').selectAll().where('openid', '=', openid).execute();

  it('login needs the token of that openid; without it nothing is created', async () => {
    const mine = await t.openSession('oLoginA');
    const other = await t.openSession('oLoginOther');
    for (const [body, headers] of [
      [registration('oLoginA'), {}],
      [registration('oLoginA', { token: other }), {}],
      [registration('oLoginA', { token: 'A'.repeat(43) }), {}],
      [registration('oLoginA'), { authorization: `Bearer ${other}` }],
    ] as const) {
      const r = await t.post('login', body, headers);
      expect(r.code).toBe(-1);
      expect(r.msg).toMatch(/token/);
    }
    expect(await rowOf('oLoginA')).toHaveLength(0);

    const r = await t.post('login', registration('oLoginA', { token: mine }));
    expect(r.code).toBe(0);
    expect(r.msg).toBe('success');
    expect(r.data).toMatchObject({
      openid: 'oLoginA',
      phone: '13812345678',
      qq: '12345678',
      cardno: 'A2020123456',
      wxid: 'weixin_id123',
      token: mine,
    });
    expect(typeof r.data.id).toBe('number');
    // 2026-01-15 04:00:00 UTC in Asia/Shanghai.
    expect(r.data.created_at).toBe('2026-01-15 12:00:00');
    expect(r.data.modified_at).toBe('2026-01-15 12:00:00');
  });

  it('login is idempotent: the same openid answers the existing user and never adds a row', async () => {
    const tok = await t.openSession('oIdem');
    const first = await t.post('login', registration('oIdem', { token: tok }));
    const again = await t.post('login', registration('oIdem', { token: tok, phone: '13900000000' }));
    expect(again.code).toBe(0);
    expect(again.data.id).toBe(first.data.id);
    expect(again.data.phone).toBe('13812345678');
    // Concurrent first logins of one openid.
    const tok2 = await t.openSession('oRace');
    const all = await Promise.all(Array.from({ length: 8 }, () => t.post('login', registration('oRace', { token: tok2 }))));
    expect(all.every((r) => r.code === 0)).toBe(true);
    expect(new Set(all.map((r) => r.data.id)).size).toBe(1);
    expect(await rowOf('oRace')).toHaveLength(1);
  });

  it('login validates every field with -1 and creates nothing', async () => {
    const tok = await t.openSession('oBadLogin');
    // Free text within bounds since issue 12 (qq "张三", cardno "2019-0111"); sizes, types, control characters stay refused.
    const bad: Record<string, unknown>[] = [
      { phone: '1234' },
      { phone: '1381234567a' },
      { phone: '138 1234 5678 9999 0000 1' },
      { qq: '' },
      { qq: '字'.repeat(51) },
      { qq: 'a\u0007b' },
      { cardno: 'A'.repeat(33) },
      { cardno: 'A\nB' },
      { wxid: 'x'.repeat(51) },
      { phone: 'x'.repeat(10_240) },
      { phone: ['13812345678'] },
      { qq: { n: 1 } },
      { phone: true },
      { phone: undefined },
      { openid: 'has space' },
    ];
    for (const over of bad) {
      const r = await t.post('login', registration('oBadLogin', { token: tok, ...over }));
      expect(r.code, JSON.stringify(over).slice(0, 60)).toBe(-1);
      expect(r.msg.length).toBeGreaterThan(5);
    }
    expect(await rowOf('oBadLogin')).toHaveLength(0);
    // Numbers for digit fields are read as digits (legacy clients), and wxid is optional.
    const r = await t.post('login', { openid: 'oBadLogin', phone: 13812345678, qq: 123456, cardno: '2020001', token: tok });
    expect(r.code).toBe(0);
    expect(r.data).toMatchObject({ phone: '13812345678', qq: '123456', wxid: '' });
    // What the seed's own examples and the SSO send: a name in qq, a dashed school number, an extra `role`, ignored.
    const seedLike = await t.post('login', {
      openid: 'oSeedLike',
      phone: '+86 138-1234-5678',
      qq: '张三',
      cardno: '2019-0111',
      wxid: 'abc',
      role: 'admin',
      token: await t.openSession('oSeedLike'),
    });
    expect(seedLike).toMatchObject({ code: 0, data: { phone: '+86 138-1234-5678', qq: '张三', cardno: '2019-0111', wxid: 'abc' } });
    expect(seedLike.data).not.toHaveProperty('role');
  });

  it('accepts forms, the Authorization header and query-string parameters, but never a token in the URL', async () => {
    const tok = await t.openSession('oForm');
    const reg = registration('oForm');
    let r = await t.postForm('login', { ...reg, token: tok });
    expect(r.code).toBe(0);
    r = await t.postForm('get', { openid: 'oForm' }, { authorization: `Bearer ${tok}` });
    expect(r.code).toBe(0);
    expect(r.data.openid).toBe('oForm');
    r = await t.post('get', { openid: 'oForm' }, { authorization: tok });
    expect(r.code).toBe(0);
    let res = await t.app.inject({ method: 'POST', url: '/service/user/get?openid=oForm', headers: { authorization: `Bearer ${tok}` } });
    expect(res.json().data.openid).toBe('oForm');
    res = await t.app.inject({ method: 'POST', url: `/service/user/get?openid=oForm&token=${tok}` });
    expect(res.json()).toMatchObject({ code: -1, msg: expect.stringMatching(/not in the URL/) });
  });

  it('loginByOpenid: -2 "call login" for an unknown openid, the profile and token otherwise', async () => {
    const tok = await t.openSession('oByOpenid');
    let r = await t.post('loginByOpenid', { openid: 'oByOpenid', token: tok });
    expect(r.code).toBe(-2);
    expect(r.msg).toMatch(/call login/);
    await t.post('login', registration('oByOpenid', { token: tok }));
    r = await t.post('loginByOpenid', { openid: 'oByOpenid', token: tok });
    expect(r.code).toBe(0);
    expect(r.data).toMatchObject({ openid: 'oByOpenid', phone: '13812345678', token: tok });
    // A bare openid (the seed's legacy call) is refused here.
    r = await t.post('loginByOpenid', { openid: 'oByOpenid' });
    expect(r.code).toBe(-1);
    expect(JSON.stringify(r)).not.toContain('13812345678');
  });

  it('get: -4 when not registered, -1 without a valid token, the seed model otherwise', async () => {
    const tok = await t.openSession('oGet');
    expect((await t.post('get', { openid: 'oGet', token: tok })).code).toBe(-4);
    await t.post('login', registration('oGet', { token: tok }));
    const r = await t.post('get', { openid: 'oGet', token: tok });
    expect(r.code).toBe(0);
    expect(Object.keys(r.data).sort()).toEqual(['cardno', 'created_at', 'id', 'modified_at', 'openid', 'phone', 'qq', 'wxid']);
    const stranger = await t.openSession('oStranger');
    const denied = await t.post('get', { openid: 'oGet', token: stranger });
    expect(denied.code).toBe(-1);
    expect(denied.data).toBeNull();
    expect((await t.post('get', {})).code).toBe(-1);
    // An unknown parameter is ignored, not a reason to refuse (issue 12).
    expect((await t.post('get', { openid: 'oGet', token: tok, extra: 1 })).code).toBe(0);
  });

  it("get answers compact JSON in the seed's key order, text escaped exactly as JSON.stringify does", async () => {
    const tok = await t.openSession('oBytes');
    await t.post('login', registration('oBytes', { token: tok }));
    // Text no login would accept, straight into the row: quotes, backslashes, control characters,
    // U+2028 (JSON.stringify leaves it as it is), an emoji, a lone surrogate (SQLite keeps it;
    // PostgreSQL stores U+FFFD), an empty wxid.
    const odd = { phone: '+86 "138" \\ 0000', qq: 'a\u0001b\u001f\n\t\u2028\u007f😀', cardno: 'x\ud800y\udc00', wxid: '' };
    await t.core.db.updateTable('miniprogram_profiles').set(odd).where('openid', '=', 'oBytes').execute();
    const res = await t.app.inject({
      method: 'POST',
      url: '/service/user/get',
      payload: JSON.stringify({ openid: 'oBytes', token: tok }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const parsed = JSON.parse(res.body);
    expect(res.body).toBe(JSON.stringify(parsed));
    expect(Object.keys(parsed)).toEqual(['code', 'msg', 'data']);
    expect(parsed).toMatchObject({ code: 0, msg: 'success' });
    expect(Object.keys(parsed.data)).toEqual(['id', 'openid', 'phone', 'qq', 'cardno', 'wxid', 'created_at', 'modified_at']);
    const [row] = await t.core.db.selectFrom('miniprogram_profiles').selectAll().where('openid', '=', 'oBytes').execute();
    expect(parsed.data).toMatchObject({ id: Number(row!.id), openid: 'oBytes', phone: odd.phone, qq: odd.qq, wxid: '' });
    expect(parsed.data.cardno).toBe(row!.cardno);
    expect(parsed.data.created_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it('a token expires after 30 days', async () => {
    const tok = await t.openSession('oExpire');
    await t.post('login', registration('oExpire', { token: tok }));
    const saved = t.clock.t;
    t.clock.t = saved + SESSION_TTL_MS + 1000;
    try {
      const r = await t.post('get', { openid: 'oExpire', token: tok });
      expect(r.code).toBe(-1);
      expect(r.msg).toMatch(/expired/);
    } finally {
      t.clock.t = saved;
    }
  });

  it('update changes only the given fields, moves modified_at and answers []', async () => {
    const tok = await t.openSession('oUpd');
    await t.post('login', registration('oUpd', { token: tok }));
    t.clock.t += 65_000;
    let r = await t.post('update', { openid: 'oUpd', token: tok, update: JSON.stringify({ phone: '13333333333', wxid: 'new_wx_id' }) });
    expect(r).toEqual({ code: 0, msg: 'success', data: [] });
    const got = (await t.post('get', { openid: 'oUpd', token: tok })).data;
    expect(got).toMatchObject({ phone: '13333333333', wxid: 'new_wx_id', qq: '12345678', cardno: 'A2020123456' });
    expect(got.created_at).not.toBe(got.modified_at);
    // Form body with the JSON string, as the seed shows.
    r = await t.postForm('update', { openid: 'oUpd', token: tok, update: '{"qq":"99999"}' });
    expect(r.code).toBe(0);
    expect((await rowOf('oUpd'))[0].qq).toBe('99999');
  });

  it('update: -3 invalid JSON, -4 JSON not an object, -1 bad fields, -2 not registered; nothing changes', async () => {
    const tok = await t.openSession('oUpdBad');
    await t.post('login', registration('oUpdBad', { token: tok }));
    const before = await rowOf('oUpdBad');
    const cases: [unknown, number][] = [
      ['{"phone":', -3],
      ['not json', -3],
      ['[1,2]', -4],
      ['"13333333333"', -4],
      ['null', -4],
      ['{"openid":"oOther"}', -1],
      ['{"id":5}', -1],
      ['{"created_at":"2020-01-01 00:00:00"}', -1],
      ['{"phone":"123"}', -1],
      ['{"phone":"13333333333","qq":"a\\u0000"}', -1],
      ['{}', -1],
      [JSON.stringify({ wxid: 'x'.repeat(10_240) }), -1],
      [12, -1],
      [undefined, -1],
    ];
    for (const [update, code] of cases) {
      const r = await t.post('update', { openid: 'oUpdBad', token: tok, update });
      expect(r.code, String(update).slice(0, 40)).toBe(code);
    }
    // Right update, wrong or missing token.
    const stranger = await t.openSession('oUpdStranger');
    expect((await t.post('update', { openid: 'oUpdBad', token: stranger, update: '{"phone":"13333333333"}' })).code).toBe(-1);
    expect((await t.post('update', { openid: 'oUpdBad', update: '{"phone":"13333333333"}' })).code).toBe(-1);
    expect(await rowOf('oUpdBad')).toEqual(before);
    // Valid session but never registered.
    expect((await t.post('update', { openid: 'oUpdStranger', token: stranger, update: '{"phone":"13333333333"}' })).code).toBe(-2);
  });

  it('bad bodies get -1 in the envelope, never a 500', async () => {
    const tok = await t.openSession('oBody');
    await t.post('login', registration('oBody', { token: tok }));
    const before = await rowOf('oBody');
    const shots = [
      { payload: '{"openid":', headers: { 'content-type': 'application/json' } },
      { payload: '[1,2,3]', headers: { 'content-type': 'application/json' } },
      { payload: '"x"', headers: { 'content-type': 'application/json' } },
      {
        payload: JSON.stringify({ openid: 'oBody', token: tok, update: '{"phone":"13333333333"}', pad: 'x'.repeat(200_000) }),
        headers: { 'content-type': 'application/json' },
      },
      { payload: 'openid=oBody&openid=oOther', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      { payload: '<xml/>', headers: { 'content-type': 'application/xml' } },
      { payload: '{"__proto__":{"x":1},"openid":"oBody"}', headers: { 'content-type': 'application/json' } },
    ];
    for (const s of shots) {
      for (const name of ['update', 'get', 'login']) {
        const res = await t.app.inject({ method: 'POST', url: `/service/user/${name}`, ...s });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toMatchObject({ code: -1, data: null });
      }
    }
    expect(await rowOf('oBody')).toEqual(before);
    const res = await t.app.inject({ method: 'GET', url: '/service/user/get?openid=oBody' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe(-1);
  });
});
