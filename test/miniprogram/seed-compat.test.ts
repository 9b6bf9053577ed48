/**
 * Seed 004 (user相关接口文档), request by request as written: the seed's flow (getOpenid ->
 * loginByOpenid -> -2 -> login -> get/update/history) with its own example values: phone
 * "12345678912", qq "张三" (free text: the school's SSO answers a name and the seed says to pass it
 * on), cardno "0111111111111" and "2019-0111", wxid "weixin_id123", and the extra parameter `name`
 * the SSO answer carries, which is ignored. The seed's flow trusts the openid it is sent, which is
 * the legacy mode (MINIPROGRAM_TRUST_CLIENT_OPENID=true); the same calls with the session token
 * run in the default, secure mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { startMpApp, type MpTestApp } from './helpers.js';

const PROFILE = {
  id: expect.any(Number),
  openid: 'xxxxxxxx',
  phone: '12345678912',
  qq: '张三',
  cardno: '0111111111111',
  wxid: 'weixin_id123',
  created_at: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
  modified_at: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
};

for (const mode of ['legacy (the seed as written)', 'secure (with the session token)'] as const) {
  describe.each(testDialects())(`seed 004, ${mode} (%s)`, (dialect) => {
    let t: MpTestApp;
    let token: Record<string, string> = {};
    const legacy = mode.startsWith('legacy');

    beforeAll(async () => {
      t = await startMpApp(dialect, legacy ? { MINIPROGRAM_TRUST_CLIENT_OPENID: 'true' } : {});
      if (!legacy) {
        token = { token: await t.openSession('xxxxxxxx') };
      }
    });
    afterAll(async () => t?.close());

    /** The seed's params, plus the token in secure mode. */
    const call = (name: string, params: Record<string, unknown>) => t.post(name, { ...params, ...token });

    it('loginByOpenid before login: -2, call login', async () => {
      const r = await call('loginByOpenid', { openid: 'xxxxxxxx' });
      expect(r.code).toBe(-2);
      expect(r.data).toBeNull();
    });

    it("login with the seed example values (and the SSO answer's extra `name`) answers the seed's profile", async () => {
      const r = await call('login', {
        openid: 'xxxxxxxx',
        phone: '12345678912',
        qq: '张三',
        cardno: '0111111111111',
        wxid: 'weixin_id123',
        name: '张三',
      });
      expect(r).toMatchObject({ code: 0, msg: 'success', data: PROFILE });
      // The form body the mini-program's wx.request sends by default works the same.
      const form = await t.postForm('login', {
        openid: 'xxxxxxxx',
        phone: '12345678912',
        qq: '张三',
        cardno: '0111111111111',
        wxid: 'weixin_id123',
        name: '张三',
        ...token,
      });
      expect(form).toMatchObject({ code: 0, data: PROFILE });
    });

    it('loginByOpenid and get answer the same profile', async () => {
      expect(await call('loginByOpenid', { openid: 'xxxxxxxx' })).toMatchObject({ code: 0, msg: 'success', data: PROFILE });
      expect(await call('get', { openid: 'xxxxxxxx' })).toMatchObject({ code: 0, msg: 'success', data: PROFILE });
    });

    it('update={"phone":"13333333333"} answers []; a school number like 2019-0111 and free-text qq are kept', async () => {
      expect(await call('update', { openid: 'xxxxxxxx', update: '{"phone":"13333333333"}' })).toEqual({
        code: 0,
        msg: 'success',
        data: [],
      });
      expect(
        await call('update', { openid: 'xxxxxxxx', update: JSON.stringify({ cardno: '2019-0111', qq: '李 四 (计算机学院)' }) }),
      ).toMatchObject({ code: 0, data: [] });
      expect((await call('get', { openid: 'xxxxxxxx' })).data).toMatchObject({
        phone: '13333333333',
        cardno: '2019-0111',
        qq: '李 四 (计算机学院)',
      });
      // An unknown field inside update is ignored with the rest saved; only unknown fields: nothing to change, -1.
      expect(await call('update', { openid: 'xxxxxxxx', update: JSON.stringify({ wxid: 'weixin_id456', name: 'x' }) })).toMatchObject({
        code: 0,
      });
      expect((await call('update', { openid: 'xxxxxxxx', update: JSON.stringify({ name: 'x' }) })).code).toBe(-1);
      // -3 not JSON, -4 JSON but no object.
      expect((await call('update', { openid: 'xxxxxxxx', update: '{phone:1' })).code).toBe(-3);
      expect((await call('update', { openid: 'xxxxxxxx', update: '["13333333333"]' })).code).toBe(-4);
    });

    it("addHistory hist '123' answers ['123']; getHistory the same; cleanHistory []", async () => {
      expect(await call('addHistory', { openid: 'xxxxxxxx', hist: '123' })).toEqual({ code: 0, msg: 'success', data: ['123'] });
      expect(await call('getHistory', { openid: 'xxxxxxxx' })).toEqual({ code: 0, msg: 'success', data: ['123'] });
      expect(await call('cleanHistory', { openid: 'xxxxxxxx' })).toEqual({ code: 0, msg: 'success', data: [] });
      expect((await call('getHistory', { openid: 'xxxxxxxx' })).data).toEqual([]);
    });

    it('get for an openid nobody registered: -4; illegal parameters: -1 with the reason', async () => {
      if (legacy) expect((await call('get', { openid: 'nobody' })).code).toBe(-4);
      const missing = await call('login', { openid: 'xxxxxxxx', qq: '张三', cardno: '1' });
      expect(missing.code).toBe(-1);
      expect(missing.msg).toMatch(/phone/);
    });
  });
}
