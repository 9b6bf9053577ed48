/**
 * The address book through HTTP: the seed's shapes and codes, the one-default invariant (also
 * under concurrent "set default" over real connections), the 20-address cap, and cross-user
 * requests refused with nothing changed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { startAccountsEnv, type AccountsTestEnv } from './helpers.js';

const addr = (i: number) => ({
  receiver: `收件人${i}`,
  receiver_phone: `1866701${String(8000 + i).padStart(4, '0')}`,
  address: `北京市东城区珍贝大厦${i}楼`,
  postcode: '722405',
  tag: '公司',
});

describe.each(testDialects())('accounts: addresses on %s', (dialect) => {
  let env: AccountsTestEnv;
  beforeAll(async () => {
    env = await startAccountsEnv(dialect);
  });
  afterAll(async () => env?.close());

  /** Active addresses and defaults straight from the database. */
  async function dbState(userId: number) {
    const rows = await env.t.core.db.selectFrom('addresses').selectAll().where('user_id', '=', userId).orderBy('id').execute();
    return { active: rows.filter((r) => r.is_active === 1), defaults: rows.filter((r) => r.is_active === 1 && r.is_default === 1), rows };
  }

  it('lists, adds, edits, deletes and sets the default as the seed shows', async () => {
    const m = await env.member('ada');
    const base = '/v1/users/ada/address';
    expect(await env.call('GET', base, { token: m.token })).toEqual({ code: 200, addresslist: [] });
    const first = await env.call('POST', base, { token: m.token, body: addr(1) });
    expect(first).toMatchObject({ code: 200, data: '新增地址成功！' });
    expect(first.addresslist).toEqual([
      {
        id: expect.any(Number),
        receiver: '收件人1',
        address: '北京市东城区珍贝大厦1楼',
        tag: '公司',
        receiver_mobile: '18667018001',
        receiver_phone: '18667018001',
        postcode: '722405',
        is_default: 'True',
      },
    ]);
    // receiver_mobile is accepted as the phone field too; the second address is not the default.
    const { receiver_phone, ...rest } = addr(2);
    const second = await env.call('POST', base, { token: m.token, body: { ...rest, receiver_mobile: receiver_phone, tag: '家' } });
    expect(second.addresslist.map((a: any) => [a.receiver, a.is_default])).toEqual([
      ['收件人1', 'True'],
      ['收件人2', 'False'],
    ]);
    const id1 = first.addresslist[0].id;
    const id2 = second.addresslist[1].id;

    const put = await env.call('PUT', `${base}/${id2}`, {
      token: m.token,
      body: { receiver: '校长', receiver_phone: '13912345678', address: '广东省深圳市龙华区民治大道100号', tag: '公司' },
    });
    expect(put).toMatchObject({ code: 200, data: '地址修改成功！' });
    expect(put.addresslist.find((a: any) => a.id === id2)).toMatchObject({
      receiver: '校长',
      receiver_phone: '13912345678',
      postcode: '722405',
    });
    // The seed's PUT table spells the field `Address`.
    const put2 = await env.call('PUT', `${base}/${id2}`, { token: m.token, body: { Address: '广东省深圳市龙华区民治大道100号' } });
    expect(put2.addresslist.find((a: any) => a.id === id2).address).toBe('广东省深圳市龙华区民治大道100号');
    expect((await env.call('PUT', `${base}/${id2}`, { token: m.token, body: { address: 'a', Address: 'b' } })).code).toBe(10116);

    const def = await env.call('POST', '/v1/users/address/ada/default', { token: m.token, body: { id: String(id2) } });
    expect(def).toMatchObject({ code: 200, data: '设为默认成功！' });
    expect(def.addresslist.map((a: any) => [a.id, a.is_default])).toEqual([
      [id2, 'True'],
      [id1, 'False'],
    ]);

    // Deleting the default promotes the newest other; delete is soft.
    const third = await env.call('POST', base, { token: m.token, body: addr(3) });
    const id3 = third.addresslist.find((a: any) => a.receiver === '收件人3').id;
    const del = await env.call('DELETE', `${base}/${id2}`, { token: m.token });
    expect(del).toMatchObject({ code: 200, data: '删除地址成功' });
    expect(del.addresslist.map((a: any) => [a.id, a.is_default])).toEqual([
      [id3, 'True'],
      [id1, 'False'],
    ]);
    const s = await dbState(m.id);
    expect(s.rows.find((r) => Number(r.id) === id2)?.is_active).toBe(0);
    // A deleted address can be neither changed, deleted again, nor made default.
    expect((await env.call('PUT', `${base}/${id2}`, { token: m.token, body: { tag: 'x' } })).code).toBe(10122);
    expect((await env.call('DELETE', `${base}/${id2}`, { token: m.token })).code).toBe(10122);
    expect((await env.call('POST', '/v1/users/address/ada/default', { token: m.token, body: { id: id2 } })).code).toBe(10122);
    // Deleting everything leaves no default; the next address becomes the default again.
    await env.call('DELETE', `${base}/${id1}`, { token: m.token });
    expect((await env.call('DELETE', `${base}/${id3}`, { token: m.token })).addresslist).toEqual([]);
    const again = await env.call('POST', base, { token: m.token, body: addr(4) });
    expect(again.addresslist[0].is_default).toBe('True');
  });

  it('takes international phone numbers, and tag and postcode are optional (issue 14, item 9)', async () => {
    const m = await env.member('intl');
    const base = '/v1/users/intl/address';
    const add = (body: Record<string, unknown>) => env.call('POST', base, { token: m.token, body });
    // Abroad, with the country code; stored in E.164.
    const uk = await add({
      receiver: 'Ann Lee',
      receiver_phone: '+44 20 7946 0958',
      address: '10 Downing St, London',
      postcode: 'SW1A 2AA',
    });
    expect(uk).toMatchObject({ code: 200 });
    expect(uk.addresslist[0]).toMatchObject({
      receiver_phone: '+442079460958',
      receiver_mobile: '+442079460958',
      postcode: 'SW1A 2AA',
      tag: '',
    });
    // Hong Kong, no tag, no postcode.
    const hk = await add({ receiver: '陈大文', receiver_mobile: '+852 6123 4567', address: '香港中环皇后大道中1号' });
    expect(hk.addresslist.find((a: any) => a.receiver === '陈大文')).toMatchObject({
      receiver_phone: '+85261234567',
      postcode: '',
      tag: '',
    });
    // Mainland numbers keep the seed's national form, with or without +86 and spaces; landlines too.
    const cn = await add({ receiver: '王芳', receiver_phone: '+86 138 1234 5678', address: '北京市东城区', postcode: '', tag: '' });
    expect(cn.addresslist.find((a: any) => a.receiver === '王芳').receiver_phone).toBe('13812345678');
    const land = await add({ receiver: '李雷', receiver_phone: '010-6512 3456', address: '北京市朝阳区' });
    expect(land.addresslist.find((a: any) => a.receiver === '李雷').receiver_phone).toBe('01065123456');
    // A postcode and a tag can be cleared again.
    const id = uk.addresslist[0].id;
    const cleared = await env.call('PUT', `${base}/${id}`, { token: m.token, body: { postcode: '', tag: '' } });
    expect(cleared.addresslist.find((a: any) => a.id === id)).toMatchObject({ postcode: '', tag: '' });
    const rows = (await dbState(m.id)).active;
    expect(rows.map((r) => r.receiver_phone).sort()).toEqual(['01065123456', '13812345678', '+442079460958', '+85261234567'].sort());
  });

  it('refuses bad fields with the seed codes and changes nothing', async () => {
    const m = await env.member('bea');
    const base = '/v1/users/bea/address';
    const cases: Array<[Record<string, unknown>, number]> = [
      [{ ...addr(1), receiver: '' }, 10115],
      [{ ...addr(1), receiver: '一二三四五六七八九十十' }, 10115],
      [{ ...addr(1), address: 'x'.repeat(101) }, 10116],
      // Since issue 12 any phone as people write it (the seed's own "12345678901" included); not these.
      [{ ...addr(1), receiver_phone: '1234' }, 10117],
      [{ ...addr(1), receiver_phone: '186670180a' }, 10117],
      [{ ...addr(1), receiver_phone: '1'.repeat(21) }, 10117],
      [{ ...addr(1), receiver_phone: undefined }, 10117],
      [{ ...addr(1), receiver_mobile: '13912345678' }, 10117],
      [{ ...addr(1), postcode: '72' }, 10118],
      [{ ...addr(1), postcode: '#722405' }, 10118],
      [{ ...addr(1), receiver_phone: '+44 20 7946 09' }, 10117],
      [{ ...addr(1), receiver_phone: '138-abcd-5678' }, 10117],
      [{ ...addr(1), postcode: 'abc' }, 10118],
      [{ ...addr(1), postcode: '7224055555555' }, 10118],
      [{ ...addr(1), postcode: 722405 }, 10118],
      [{ ...addr(1), tag: 'x'.repeat(11) }, 10119],
    ];
    for (const [body, code] of cases) {
      const r = await env.call('POST', base, { token: m.token, body: JSON.parse(JSON.stringify(body)) });
      expect([r.code, typeof r.error], JSON.stringify(body)).toEqual([code, 'string']);
    }
    expect((await dbState(m.id)).rows).toEqual([]);
    const ok = await env.call('POST', base, { token: m.token, body: addr(1) });
    const id = ok.addresslist[0].id;
    expect((await env.call('PUT', `${base}/${id}`, { token: m.token, body: {} })).code).toBe(10123);
    expect((await env.call('PUT', `${base}/${id}`, { token: m.token, body: { colour: 'red' } })).code).toBe(10123);
    expect((await env.call('PUT', `${base}/${id}`, { token: m.token, body: { postcode: 'abc<def' } })).code).toBe(10118);
    expect((await env.call('PUT', `${base}/abc`, { token: m.token, body: { tag: 'x' } })).code).toBe(10122);
    expect((await env.call('POST', '/v1/users/address/bea/default', { token: m.token, body: { id: 'abc' } })).code).toBe(10122);
    expect((await env.call('POST', '/v1/users/address/bea/default', { token: m.token, body: {} })).code).toBe(10122);
    expect((await env.call('GET', base, { token: m.token })).addresslist).toEqual(ok.addresslist);
  });

  it('lists exactly what the writes answer, whatever the characters (the read path builds its JSON apart)', async () => {
    const m = await env.member('eve');
    const base = '/v1/users/eve/address';
    const odd = {
      receiver: '"王" \\ 😀',
      address: '路 "1" 号\\n</script>\u0001\t末',
      tag: '家\u2028公',
      receiver_phone: '13800138000',
      postcode: '100001',
    };
    const added = await env.call('POST', base, { token: m.token, body: odd });
    expect(added.code).toBe(200);
    await env.call('POST', base, { token: m.token, body: addr(7) });
    const written = (await env.call('POST', base, { token: m.token, body: addr(8) })).addresslist;
    const res = await env.t.app.inject({ method: 'GET', url: base, headers: { authorization: m.token } });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({ code: 200, addresslist: written });
    expect(written[0]).toMatchObject({ receiver: odd.receiver, address: odd.address, tag: odd.tag, is_default: 'True' });
  });

  it("accepts the seed's own spelling of the delete path (no slash before 'address'), for one's own name only", async () => {
    const m = await env.member('gil.b');
    const other = await env.member('hal');
    const a = (await env.call('POST', '/v1/users/gil.b/address', { token: m.token, body: addr(1) })).addresslist[0].id;
    const b = (await env.call('POST', '/v1/users/gil.b/address', { token: m.token, body: addr(2) })).addresslist.find(
      (x: any) => x.id !== a,
    ).id;
    expect((await env.call('DELETE', `/v1/users/gil.baddress/${a}`, { token: other.token })).code).toBe(10134);
    const del = await env.call('DELETE', `/v1/users/gil.baddress/${a}`, { token: m.token, body: { id: String(a) } });
    expect(del).toMatchObject({ code: 200, data: '删除地址成功' });
    expect(del.addresslist.map((x: any) => [x.id, x.is_default])).toEqual([[b, 'True']]);
    expect((await env.call('DELETE', `/v1/users/gil.baddress/${a}`, { token: m.token })).code).toBe(10122);
  });

  it('keeps at most 20 active addresses', async () => {
    const m = await env.member('cy');
    for (let i = 1; i <= 20; i++)
      expect((await env.call('POST', '/v1/users/cy/address', { token: m.token, body: addr(i) })).code).toBe(200);
    const r = await env.call('POST', '/v1/users/cy/address', { token: m.token, body: addr(21) });
    expect(r.code).toBe(10120);
    expect((await dbState(m.id)).active).toHaveLength(20);
  });

  it('leaves exactly one default when "set default" requests race', async () => {
    const m = await env.member('dora');
    const base = '/v1/users/dora/address';
    const ids: number[] = [];
    for (let i = 1; i <= 6; i++) {
      const r = await env.call('POST', base, { token: m.token, body: addr(i) });
      ids.push(r.addresslist.find((a: any) => a.receiver === `收件人${i}`).id);
    }
    // Real connections, so the requests truly overlap (PostgreSQL: separate pool connections).
    const url = await env.t.listen();
    for (let round = 0; round < 5; round++) {
      const pick = [ids[(round * 2 + 1) % 6], ids[(round * 2 + 4) % 6], ids[(round + 2) % 6]];
      const answers = await Promise.all(
        pick.map((id) =>
          fetch(`${url}/v1/users/address/dora/default`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: m.token },
            body: JSON.stringify({ id }),
          }).then((r) => r.json()),
        ),
      );
      for (const a of answers) expect(a.code).toBe(200);
      const s = await dbState(m.id);
      expect(s.defaults).toHaveLength(1);
      expect(pick).toContain(Number(s.defaults[0].id));
    }
    // Concurrent deletes of the default and a set-default also keep one default.
    const s0 = await dbState(m.id);
    const cur = Number(s0.defaults[0].id);
    const other = ids.find((i) => i !== cur)!;
    await Promise.all([
      fetch(`${url}${base}/${cur}`, { method: 'DELETE', headers: { authorization: m.token } }),
      fetch(`${url}/v1/users/address/dora/default`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: m.token },
        body: JSON.stringify({ id: other }),
      }),
    ]);
    expect((await dbState(m.id)).defaults).toHaveLength(1);
    // The database itself refuses a second active default (the guard under any code path).
    const t = Date.now();
    const row = {
      user_id: m.id,
      receiver: 'x',
      address: 'y',
      tag: 'z',
      receiver_phone: '13912345678',
      postcode: '100000',
      is_default: 1,
      is_active: 1,
      created_at: t,
      updated_at: t,
    };
    await expect(env.t.core.db.insertInto('addresses').values(row).execute()).rejects.toThrow();
    await env.t.core.db
      .insertInto('addresses')
      .values({ ...row, is_active: 0 })
      .execute();
  });

  it("refuses every path with another user's name or address id, and changes nothing", async () => {
    const owner = await env.member('erik');
    const intruder = await env.member('finn');
    const r = await env.call('POST', '/v1/users/erik/address', { token: owner.token, body: addr(1) });
    const id = r.addresslist[0].id;
    await env.call('POST', '/v1/users/erik/address', { token: owner.token, body: addr(2) });
    const own = await env.call('POST', '/v1/users/finn/address', { token: intruder.token, body: addr(3) });
    const before = await dbState(owner.id);

    const tries: Array<[string, string, unknown, number]> = [
      ['GET', '/v1/users/erik/address', undefined, 10134],
      ['POST', '/v1/users/erik/address', addr(9), 10134],
      ['PUT', `/v1/users/erik/address/${id}`, { tag: 'pwned' }, 10134],
      ['DELETE', `/v1/users/erik/address/${id}`, undefined, 10134],
      ['POST', '/v1/users/address/erik/default', { id }, 10134],
      [
        'POST',
        '/v1/users/erik/password',
        { oldpassword: intruder.password, password1: 'taken over pw', password2: 'taken over pw' },
        10134,
      ],
      // The intruder's own paths with the owner's address id.
      ['PUT', `/v1/users/finn/address/${id}`, { tag: 'pwned' }, 10122],
      ['DELETE', `/v1/users/finn/address/${id}`, undefined, 10122],
      ['POST', '/v1/users/address/finn/default', { id }, 10122],
    ];
    for (const [method, url, body, code] of tries) {
      expect((await env.call(method, url, { token: intruder.token, body })).code, `${method} ${url}`).toBe(code);
      // No token at all: 10101.
      expect((await env.call(method, url, { body })).code, `${method} ${url} without a token`).toBe(10101);
    }
    expect(await dbState(owner.id)).toEqual(before);
    expect((await env.call('GET', '/v1/users/finn/address', { token: intruder.token })).addresslist).toEqual(own.addresslist);
    expect((await env.call('POST', '/v1/tokens', { body: { username: 'erik', password: owner.password } })).code).toBe(200);
  });
});
