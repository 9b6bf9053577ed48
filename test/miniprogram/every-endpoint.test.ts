/**
 * What every endpoint shares, checked on each: JSON and form bodies both work, and bad input
 * (missing fields, wrong types, 10 KB strings, invalid JSON, unknown fields, a wrong token) is -1
 * in the seed's envelope and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { registration, startMpApp, type MpTestApp } from './helpers.js';

const ENDPOINTS = ['login', 'loginByOpenid', 'get', 'update', 'addHistory', 'getHistory', 'cleanHistory'] as const;

/** A valid body for `name` (without the token). */
function validBody(name: (typeof ENDPOINTS)[number], openid: string): Record<string, string> {
  switch (name) {
    case 'login':
      return registration(openid);
    case 'update':
      return { openid, update: '{"wxid":"changed_wx"}' };
    case 'addHistory':
      return { openid, hist: 'added term' };
    default:
      return { openid };
  }
}

describe.each(testDialects())('miniprogram, every endpoint (%s)', (dialect) => {
  let t: MpTestApp;
  beforeAll(async () => {
    t = await startMpApp(dialect);
  });
  afterAll(async () => t?.close());

  /** Everything stored for `openid`: profile and history rows. */
  const snapshot = async (openid: string) => ({
    profile: await t.core.db.selectFrom('miniprogram_profiles').selectAll().where('openid', '=', openid).execute(),
    history: await t.core.db.selectFrom('miniprogram_history').select('items').where('openid', '=', openid).execute(),
  });

  it('answers form bodies like JSON bodies', async () => {
    for (const name of ENDPOINTS) {
      const openid = `oForm_${name}`;
      const token = await t.openSession(openid);
      if (name !== 'login') await t.post('login', registration(openid, { token }));
      await t.post('addHistory', { openid, token, hist: 'before' });
      const viaForm = await t.postForm(name, { ...validBody(name, openid), token });
      expect(viaForm.code, name).toBe(0);
      expect(viaForm.msg).toBe('success');
    }
    // The form's effects are real: the update and the history change landed.
    const tok = await t.openSession('oForm_update');
    expect((await t.post('get', { openid: 'oForm_update', token: tok })).data.wxid).toBe('changed_wx');
    const tokH = await t.openSession('oForm_addHistory');
    expect((await t.post('getHistory', { openid: 'oForm_addHistory', token: tokH })).data).toEqual(['added term', 'before']);
    const tokC = await t.openSession('oForm_cleanHistory');
    expect((await t.post('getHistory', { openid: 'oForm_cleanHistory', token: tokC })).data).toEqual([]);
  });

  it('answers -1 to bad input on every endpoint and changes nothing', async () => {
    const openid = 'oVictim';
    const token = await t.openSession(openid);
    const other = await t.openSession('oOtherUser');
    await t.post('login', registration(openid, { token }));
    await t.post('addHistory', { openid, token, hist: 'kept' });
    const before = await snapshot(openid);
    const big = 'x'.repeat(10_240);

    for (const name of ENDPOINTS) {
      const good = validBody(name, openid);
      const bad: [string, Record<string, unknown>][] = [
        ['missing openid', { ...good, openid: undefined, token }],
        ['openid a number', { ...good, openid: 12345, token }],
        ['openid an array', { ...good, openid: [openid], token }],
        ['openid an object', { ...good, openid: { $ne: '' }, token }],
        ['openid 10 KB', { ...good, openid: big, token }],
        ['token 10 KB', { ...good, token: big }],
        ['token a number', { ...good, token: 1 }],
        ['no token', { ...good }],
        ["another user's token", { ...good, token: other }],
      ];
      if (name === 'login')
        bad.push(['phone 10 KB', { ...good, phone: big, token }], ['cardno missing', { ...good, cardno: undefined, token }]);
      if (name === 'update')
        bad.push(['update 10 KB', { ...good, update: JSON.stringify({ wxid: big }), token }], ['update missing', { openid, token }]);
      if (name === 'addHistory') bad.push(['hist 10 KB', { ...good, hist: big, token }], ['hist missing', { openid, token }]);
      for (const [what, body] of bad) {
        const r = await t.post(name, body);
        expect(r.code, `${name}: ${what}`).toBe(-1);
        expect(r.data, `${name}: ${what}`).toBeNull();
        expect(r.msg.length, `${name}: ${what}`).toBeGreaterThan(5);
        expect(JSON.stringify(r), `${name}: ${what}`).not.toContain('13812345678');
      }
      // A body that is not JSON at all.
      const res = await t.app.inject({
        method: 'POST',
        url: `/service/user/${name}`,
        payload: `{"openid":"${openid}","token":"${token}"`,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json(), `${name}: invalid JSON`).toMatchObject({ code: -1, data: null, msg: expect.stringMatching(/not valid JSON/) });
    }
    // Without a valid token, even a broken `update` answers -1 (not -3): nothing is learnt.
    expect((await t.post('update', { openid, update: '{broken' })).code).toBe(-1);
    expect((await t.post('update', { openid, token: other, update: '[1]' })).code).toBe(-1);
    expect(await snapshot(openid)).toEqual(before);
  });
});
