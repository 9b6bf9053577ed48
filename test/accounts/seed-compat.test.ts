/**
 * Seed 003 (用户模块), request by request as written: the paths (the delete URL without the slash
 * before `address` too), the bodies of its examples with their values (`oldpasword` as it is
 * spelled, `receiver_mobile: "12345678901"` from the list example, ids as strings), extra fields
 * ignored, and the seed's answers: HTTP 200 with `{code: 200, data: "<its sentence>"}` or
 * `{code: 101xx, error}` from its appendix. Where we answer otherwise on purpose (step 3 of the
 * recovery needs the proof from step 2) the test says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { startAccountsEnv, type AccountsTestEnv } from './helpers.js';

describe.each(testDialects())('seed 003 as written (%s)', (dialect) => {
  let env: AccountsTestEnv;
  const username = 'xiaowang';
  const email = 'xiaowang@example.org';
  let password = 'a fine long passphrase';
  let token = '';
  let ids: number[] = [];

  beforeAll(async () => {
    env = await startAccountsEnv(dialect);
  });
  afterAll(async () => env?.close());

  const call = (method: string, url: string, body?: unknown, auth = true) =>
    env.call(method, url, { body, ...(auth && token ? { token } : {}) });

  it('用户激活 GET /v1/users/activation?code=xxxx', async () => {
    const reg = await call('POST', '/v1/users', { username, email, password1: password, password2: password });
    expect(reg.code).toBe(200);
    token = reg.data.token;
    // The seed's placeholder: {code: xxx, error} (10113: the link's parameter is not a code).
    const placeholder = await call('GET', '/v1/users/activation?code=xxxx');
    expect(placeholder).toMatchObject({ code: 10113, error: expect.any(String) });
    const link = (await env.mail(email)).text.match(/active\?code=([A-Za-z0-9_-]+)/)![1];
    // A mail client's tracking parameter next to the code is ignored.
    expect(await call('GET', `/v1/users/activation?code=${link}&utm_source=mail`)).toEqual({ code: 200, data: '激活成功' });
  });

  it("修改密码 POST /v1/users/<username>/password with the seed's example body", async () => {
    // {'oldpasword':'123456','password1':'123321','password2':'654321'}: the two differ -> 10102.
    const r = await call('POST', `/v1/users/${username}/password`, { oldpasword: '123456', password1: '123321', password2: '654321' });
    expect(r).toMatchObject({ code: 10102, error: expect.any(String) });
    // Same spelling, real values: {code: 200, data: '修改成功'}.
    const next = 'another fine passphrase';
    expect(await call('POST', `/v1/users/${username}/password`, { oldpasword: password, password1: next, password2: next })).toEqual({
      code: 200,
      data: '修改成功',
    });
    password = next;
    // A weak new password is refused with the reason (security keeps this check).
    const weak = await call('POST', `/v1/users/${username}/password`, { oldpassword: password, password1: '123321', password2: '123321' });
    expect(weak.code).toBe(10108);
    expect(weak.error).toMatch(/password/i);
  });

  it('找回密码: sms -> verification/ -> new', async () => {
    expect(await call('POST', '/v1/users/password/sms', { email }, false)).toEqual({ code: 200, data: '邮件发送成功' });
    const mail = await env.mail(email, 3);
    const code = mail.text.match(/\b(\d{6})\b/)![1];
    const ok = await call('POST', '/v1/users/password/verification/', { email, code }, false);
    expect(ok).toMatchObject({ code: 200, data: '验证码通过', email });
    const next = 'a third fine passphrase';
    // Step 3 as written (email and passwords only) would let anyone reset anyone's password: refused, 10112.
    const bare = await call('POST', '/v1/users/password/new', { email, password1: next, Password2: next }, false);
    expect(bare.code).toBe(10112);
    // With the ticket step 2 answered: {code: 200, data: 'OK'}.
    expect(await call('POST', '/v1/users/password/new', { email, password1: next, password2: next, ticket: ok.ticket }, false)).toEqual({
      code: 200,
      data: 'OK',
    });
    password = next;
    token = (await call('POST', '/v1/tokens', { username, password }, false)).data.token;
  });

  it('地址: add, list, update, set default, delete with the seed examples', async () => {
    expect(await call('GET', `/v1/users/${username}/address`)).toEqual({ code: 200, addresslist: [] });
    // 新增地址 example.
    const add = await call('POST', `/v1/users/${username}/address`, {
      receiver: '小王',
      receiver_phone: '18667018590',
      address: '北京市东城区珠市口大街珍贝大厦2楼',
      postcode: '722405',
      tag: '公司',
    });
    expect(add).toMatchObject({ code: 200, data: '新增地址成功！' });
    // The list example's items as a client would send them back: receiver_mobile "12345678901", the extra id and is_default ignored.
    const second = await call('POST', `/v1/users/${username}/address`, {
      id: 123456,
      address: '广东省深圳市龙华区嘉熙业广场1155室',
      receiver: '达内科技',
      receiver_mobile: '12345678901',
      tag: '家',
      postcode: '722494',
      is_default: 'True',
    });
    expect(second).toMatchObject({ code: 200, data: '新增地址成功！' });
    const list = await call('GET', `/v1/users/${username}/address`);
    expect(list.code).toBe(200);
    expect(list.addresslist).toHaveLength(2);
    for (const a of list.addresslist)
      expect(Object.keys(a).sort()).toEqual(
        ['address', 'id', 'is_default', 'postcode', 'receiver', 'receiver_mobile', 'receiver_phone', 'tag'].sort(),
      );
    const byReceiver = Object.fromEntries(list.addresslist.map((a: any) => [a.receiver, a]));
    expect(byReceiver['小王']).toMatchObject({ receiver_phone: '18667018590', is_default: 'True', postcode: '722405' });
    expect(byReceiver['达内科技']).toMatchObject({ receiver_mobile: '12345678901', receiver_phone: '12345678901', is_default: 'False' });
    ids = [byReceiver['小王'].id, byReceiver['达内科技'].id];

    // 修改地址 example (no postcode; `Address` as the seed's table spells it works too).
    expect(
      await call('PUT', `/v1/users/${username}/address/${ids[1]}`, {
        receiver: '校长',
        receiver_phone: '18667018590',
        address: '广东省深圳市龙华区民治大道100号',
        tag: '公司',
      }),
    ).toMatchObject({ code: 200, data: '地址修改成功！' });
    // 设为默认: {'id': 'xxxxxxx'}, the id as a string.
    expect(await call('POST', `/v1/users/address/${username}/default`, { id: String(ids[1]) })).toMatchObject({
      code: 200,
      data: '设为默认成功！',
    });
    const after = await call('GET', `/v1/users/${username}/address`);
    expect(after.addresslist[0]).toMatchObject({
      id: ids[1],
      receiver: '校长',
      address: '广东省深圳市龙华区民治大道100号',
      is_default: 'True',
    });
    // 删除地址 at the URL as the seed writes it (no slash before "address"), body {'id': ...}.
    expect(await call('DELETE', `/v1/users/${username}address/${ids[0]}`, { id: String(ids[0]) })).toMatchObject({
      code: 200,
      data: '删除地址成功',
    });
    expect((await call('GET', `/v1/users/${username}/address`)).addresslist.map((a: any) => a.id)).toEqual([ids[1]]);
  });

  it("answers the appendix's codes for what it lists: 10101 not logged in, 10117 bad phone, 10123 nothing to change", async () => {
    expect((await call('GET', `/v1/users/${username}/address`, undefined, false)).code).toBe(10101);
    expect(
      (
        await call('POST', `/v1/users/${username}/address`, {
          receiver: '小王',
          receiver_phone: 'not a phone',
          address: '北京',
          postcode: '722405',
          tag: '公司',
        })
      ).code,
    ).toBe(10117);
    // Only unknown fields: nothing to change.
    expect((await call('PUT', `/v1/users/${username}/address/${ids[1]}`, { colour: 'red' })).code).toBe(10123);
  });
});
