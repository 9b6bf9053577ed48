/**
 * Issue 10 item 8 (work one caller can force), per-member caps in the assistant: a member could
 * connect unlimited official accounts and store 95 MB of rules. Now connected accounts, rules over
 * all the member's rule sets, and those rules' bytes are capped (AUTOREPLY_MAX_*), checked under
 * the member's lock inside the writing transaction, so parallel requests cannot all pass; refused
 * with 409 limit_reached on /api/v2 and -4 on the seed's paths.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { member, startAutoreply, type Ctx } from '../autoreply/helpers.js';

const P = '/api/v2/autoreply';
const CAPS = { AUTOREPLY_MAX_ACCOUNTS: '3', AUTOREPLY_MAX_RULES: '50', AUTOREPLY_MAX_RULE_BYTES: '20000' };

describe.each(testDialects())('per-member caps in the assistant (%s)', (dialect) => {
  let ctx: Ctx;
  beforeAll(async () => {
    ctx = await startAutoreply(dialect, { env: CAPS });
  });
  afterAll(async () => ctx?.close());

  const api = (cookie: string) => (method: string, url: string, payload?: unknown) =>
    ctx.t.app.inject({ method: method as 'POST', url: `${P}${url}`, headers: { ...ctx.origin, cookie }, payload: payload as object });
  const rule = (kw: string, reply = 'ok') => ({ keywords: [{ text: kw }], replies: [reply] });

  it('8 parallel connects of official accounts: exactly 3 pass, the rest are refused with limit_reached', async () => {
    const m = await member(ctx, 'capacc');
    const call = api(m.cookie);
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        call('POST', '/accounts', { appid: `wxcapacc00000000${i}`, secret: `capaccsecret000000000000${i}`, token: `capacctok${i}` }),
      ),
    );
    expect(answers.filter((a) => a.statusCode === 201).length).toBe(3);
    const refused = answers.filter((a) => a.statusCode !== 201);
    expect(refused.length).toBe(5);
    for (const r of refused) {
      expect(r.statusCode).toBe(409);
      expect(r.json()).toMatchObject({
        code: 'limit_reached',
        limit: 'accounts',
        max: 3,
        message: expect.stringMatching(/at most 3 connected official accounts/),
      });
    }
    expect((await call('GET', '/accounts')).json().accounts).toHaveLength(3);
    expect((await call('GET', '/usage')).json()).toMatchObject({ accounts: 3, maxAccounts: 3 });
    // Disconnecting one makes room again.
    const first = (await call('GET', '/accounts')).json().accounts[0];
    expect((await call('DELETE', `/accounts/${first.id}`)).statusCode).toBe(204);
    expect(
      (await call('POST', '/accounts', { appid: 'wxcapaccagain0001', secret: 'capaccsecretagain00000001', token: 'capaccagain' }))
        .statusCode,
    ).toBe(201);
  });

  it('rules are counted over every rule set of the member; parallel creates cannot pass the cap; the seed path answers -4', async () => {
    const m = await member(ctx, 'caprules');
    const call = api(m.cookie);
    const acc = (
      await call('POST', '/accounts', { appid: 'wxcaprules0000001', secret: 'caprulessecret00000000001', token: 'caprulestok' })
    ).json();
    expect((await call('POST', '/import', { rules: Array.from({ length: 30 }, (_, i) => rule(`own${i}`)) })).statusCode).toBe(200);
    expect(
      (await call('POST', `/import?account=${acc.id}`, { rules: Array.from({ length: 10 }, (_, i) => rule(`acc${i}`)) })).statusCode,
    ).toBe(200);
    // 40 stored; 20 parallel creates on both sets: 10 pass.
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call('POST', i % 2 ? '/rules' : `/rules?account=${acc.id}`, rule(`par${i}`))),
    );
    expect(answers.filter((a) => a.statusCode === 201).length).toBe(10);
    for (const r of answers.filter((a) => a.statusCode !== 201))
      expect(r.json()).toMatchObject({ code: 'limit_reached', limit: 'rules', max: 50 });
    expect((await call('GET', '/usage')).json()).toMatchObject({ rules: 50, maxRules: 50 });
    // An import that would go past it changes nothing (all or nothing).
    const imp = await call('POST', '/import', { rules: [rule('more1'), rule('more2')] });
    expect(imp.statusCode).toBe(409);
    expect((await call('GET', '/usage')).json().rules).toBe(50);
    // The seed's path: its envelope, HTTP 200, -4 with the reason.
    const seed = await ctx.t.app.inject({
      method: 'POST',
      url: '/database/add',
      headers: { ...ctx.origin, cookie: m.cookie },
      payload: { hello: 'world' },
    });
    expect(seed.statusCode).toBe(200);
    expect(seed.json()).toMatchObject({ code: -4, message: expect.stringMatching(/at most 50 rules/) });
    // Another member is not affected.
    const other = await member(ctx, 'caprules2');
    expect((await api(other.cookie)('POST', '/rules', rule('mine'))).statusCode).toBe(201);
  });

  it("the bytes of a member's rules are capped, for new rules and for edits that grow one", async () => {
    const m = await member(ctx, 'capbytes');
    const call = api(m.cookie);
    const big = (i: number) => rule(`big${i}`, `${i} ${'长'.repeat(1200)}`); // ~3.6 KB each in UTF-8
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await call('POST', '/rules', big(i))).statusCode);
    expect(statuses.slice(0, 5)).toEqual([201, 201, 201, 201, 201]);
    expect(statuses.slice(5)).toEqual([409, 409, 409]);
    const u = (await call('GET', '/usage')).json();
    expect(u.ruleBytes).toBeLessThanOrEqual(20000);
    expect(u.ruleBytes).toBeGreaterThan(18000);
    const small = (await call('POST', '/rules', rule('small'))).json();
    // Growing a small rule past the cap is refused and leaves it as it was.
    const grow = await call('PUT', `/rules/${small.id}`, rule('small', '长'.repeat(1500)));
    expect(grow.statusCode).toBe(409);
    expect(grow.json()).toMatchObject({ code: 'limit_reached', limit: 'rule_bytes', max: 20000 });
    expect((await call('GET', `/rules/${small.id}`)).json().replies).toEqual(['ok']);
  });
});
