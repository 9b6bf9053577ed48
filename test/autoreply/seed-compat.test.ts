/**
 * Seed 002 (微信回复助手), request by request as its document writes them: the same paths,
 * methods, parameters and bodies (the example values too), sent as a plain client would (no
 * Origin, a cookie jar), and the seed's answers asserted: `{code: 200, message: "ok"}`, the rule
 * maps, the error codes of its tables. Where we answer otherwise on purpose (a weak password, a
 * made-up registration code) the test says so and checks that the message gives the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { codeFor, startAutoreply, type Ctx } from './helpers.js';

describe.each(testDialects())('seed 002 as written (%s)', (dialect) => {
  let ctx: Ctx;
  let jar = '';
  let userid = 0;
  const PASSWORD = 'correct horse battery';

  beforeAll(async () => {
    ctx = await startAutoreply(dialect);
    ctx.fake.on('/cgi-bin/qrcode/create', (req) => ({
      ticket: 'T',
      url: `http://weixin.qq.com/q/${req.json().action_info.scene.scene_str}`,
      expire_seconds: 600,
    }));
  });
  afterAll(async () => ctx?.close());

  /** One request as a plain HTTP client sends it: a JSON body written out, the cookie jar, nothing else. */
  async function call(method: string, url: string, body?: string) {
    const r = await ctx.t.app.inject({
      method: method as 'GET',
      url,
      headers: { ...(jar ? { cookie: jar } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { payload: body } : {}),
    });
    const set = r.headers['set-cookie'];
    for (const c of [set].flat().filter(Boolean) as string[]) {
      const pair = c.split(';')[0];
      jar = /=$/.test(pair) || /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c) ? '' : pair;
    }
    expect(r.statusCode, `${method} ${url}`).toBe(200);
    return r.json();
  }

  it('1. 用户注册 POST account/register', async () => {
    // As written: "pwd" is refused by the password policy, with the reason (security keeps this check).
    const asWritten = await call(
      'POST',
      '/account/register',
      '{\n    "username":"username",\n    "password":"pwd",\n    "last_name":"1",\n}'.replace(',\n}', '\n}'),
    );
    expect(asWritten.code).toBe(-4);
    expect(asWritten.message).toMatch(/password/i);
    // A made-up last_name is refused too (it must be the code the official account sent): -1 with the reason.
    const madeUp = await call('POST', '/account/register', JSON.stringify({ username: 'username', password: PASSWORD, last_name: '1' }));
    expect(madeUp.code).toBe(-1);
    expect(madeUp.message).toMatch(/code/);
    // With the code from the official account (the seed's "last_name") and a real password: the seed's answer.
    const code = await codeFor(ctx, 'o_seed_user');
    const ok = await call('POST', '/account/register', JSON.stringify({ username: 'username', password: PASSWORD, last_name: code }));
    expect(ok).toMatchObject({ code: 200, message: 'ok' });
    // 用户已存在 / 用户名被使用: -2.
    const again = await call(
      'POST',
      '/account/register',
      JSON.stringify({ username: 'username', password: PASSWORD, last_name: await codeFor(ctx, 'o_seed_other') }),
    );
    expect(again.code).toBe(-2);
  });

  it('2. 用户登录 POST account/login (csrf_token as the first table writes it)', async () => {
    const wrong = await call('POST', '/account/login', JSON.stringify({ csrf_token: 'csrf', username: 'username', password: 'pwd' }));
    expect(wrong).toMatchObject({ code: -3 });
    expect(jar).toBe('');
    // The first table's -3 "用户名不存在" and -2 "密码错误" are one answer (-3): telling them apart would tell who has an account.
    const unknown = await call('POST', '/account/login', JSON.stringify({ csrf_token: 'csrf', username: 'nobody_here', password: 'pwd' }));
    expect(unknown).toEqual(wrong);
    const ok = await call('POST', '/account/login', JSON.stringify({ csrf_token: 'csrf', username: 'username', password: PASSWORD }));
    expect(ok).toMatchObject({ code: 200, message: 'ok' });
    expect(jar).toMatch(/^ar_session=/);
    userid = ok.id;
    expect(userid).toBeGreaterThan(0);
  });

  it('5. 添加回复 POST mongodb/add?id=userid, body as written (a repeated key: JSON keeps the last)', async () => {
    const r = await call(
      'POST',
      `/mongodb/add?id=${userid}`,
      '{\n    "收到内容":"回复内容",\n    "收到内容":"回复内容",\n    "苹果":"樱桃"\n}',
    );
    expect(r).toMatchObject({ code: 200, message: 'ok' });
    // -2: '收到内容'有重复.
    const dup = await call('POST', `/mongodb/add?id=${userid}`, '{"收到内容":"别的"}');
    expect(dup.code).toBe(-2);
    expect(dup.message).toContain('收到内容');
  });

  it('4. 用户回复数据 GET mongodb/show?id=userid: {code: 200, message: ok, data: {主键: {收到内容: 回复内容}}}', async () => {
    const r = await call('GET', `/mongodb/show?id=${userid}`);
    expect(r).toEqual({ code: 200, message: 'ok', data: { '01': { 收到内容: '回复内容' }, '02': { 苹果: '樱桃' } } });
    // Another member's id: -5 用户不匹配, and nothing of anyone is shown.
    const other = await call('GET', `/mongodb/show?id=${userid + 1000}`);
    expect(other.code).toBe(-5);
    expect(other.data).toBeUndefined();
  });

  it('4. 用户回复数据查看 GET database/show answers the rule map alone', async () => {
    const r = await call('GET', '/database/show');
    expect(r).toEqual({ '01': { 收到内容: '回复内容' }, '02': { 苹果: '樱桃' } });
    // A client that walks the map sees exactly the rules.
    expect(Object.keys(r)).toEqual(['01', '02']);
  });

  it('5. 添加回复 POST database/add, body as written', async () => {
    const dup = await call(
      'POST',
      '/database/add',
      '{\n    "收到内容":"回复内容",\n    "收到内容":"回复内容",\n    "收到内容":"回复内容",\n}'.replace(',\n}', '\n}'),
    );
    expect(dup.code).toBe(-2);
    const r = await call('POST', '/database/add', '{"香蕉":"橘子"}');
    expect(r).toMatchObject({ code: 200, message: 'ok' });
    expect(await call('GET', '/database/show')).toEqual({ '01': { 收到内容: '回复内容' }, '02': { 苹果: '樱桃' }, '03': { 香蕉: '橘子' } });
  });

  it('7. 修改回复 POST database/update/?id=n', async () => {
    const r = await call('POST', '/database/update/?id=03', '{\n    "new回复":"new收到",\n    \n}'.replace(',\n    \n}', '\n}'));
    expect(r).toMatchObject({ code: 200, message: 'ok' });
    expect((await call('GET', '/database/show'))['03']).toEqual({ new回复: 'new收到' });
  });

  it('6. 删除回复 GET database/delete/?id=2123 and DELETE mongodb/delete?id=userid&key=主键', async () => {
    // No rule has the key 2123: -2 主键不存在, nothing deleted.
    const none = await call('GET', '/database/delete/?id=2123');
    expect(none.code).toBe(-2);
    expect(Object.keys(await call('GET', '/database/show'))).toEqual(['01', '02', '03']);
    expect(await call('GET', '/database/delete/?id=03')).toMatchObject({ code: 200, message: 'ok' });
    expect(await call('DELETE', `/mongodb/delete?id=${userid}&key=02`)).toEqual({ code: 200, message: 'ok' });
    expect((await call('DELETE', `/mongodb/delete?id=${userid}&key=02`)).code).toBe(-2);
    expect(await call('GET', '/database/show')).toEqual({ '01': { 收到内容: '回复内容' } });
  });

  it('8. 微信二维码地址 GET wechat/testlogin?id=userid and without params: {code, pid}, image at /static/qrimages/pid.png', async () => {
    const r = await call('GET', `/wechat/testlogin?id=${userid}`);
    expect(r).toMatchObject({ code: 200, pid: expect.stringMatching(/^[A-Za-z0-9_-]{10,}$/) });
    const png = await ctx.t.app.inject({ method: 'GET', url: `/static/qrimages/${r.pid}.png` });
    expect(png.statusCode).toBe(200);
    expect(png.headers['content-type']).toBe('image/png');
    ctx.clock.now += 20_000;
    expect(await call('GET', '/wechat/testlogin')).toMatchObject({ code: 200, pid: expect.any(String) });
  });

  it('3. 用户退出 GET account/logout: 200 ok; signed out already: -1 状态不允许', async () => {
    expect(await call('GET', '/account/logout')).toEqual({ code: 200, message: 'ok' });
    expect(jar).toBe('');
    const again = await call('GET', '/account/logout');
    expect(again.code).toBe(-1);
    // 除account接口外，其他接口都需要登陆访问: signed out, the rules answer -1.
    expect((await call('GET', `/mongodb/show?id=${userid}`)).code).toBe(-1);
    expect((await call('GET', '/database/show')).code).toBe(-1);
  });
});
