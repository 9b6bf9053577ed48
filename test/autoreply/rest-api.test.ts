/**
 * The REST API of the full rule model (/api/v2/autoreply): edit keeps the key, bad input is a 400
 * in the API's own envelope and changes nothing, the secret never comes back, the member's own
 * rules also answer on their connected accounts, and every route is in the OpenAPI page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { member, send, startAutoreply, text, type Ctx } from './helpers.js';

const P = '/api/v2/autoreply';

describe.each(testDialects())('autoreply REST API (%s)', (dialect) => {
  let ctx: Ctx;
  let m: { id: number; cookie: string };
  beforeAll(async () => {
    ctx = await startAutoreply(dialect);
    m = await member(ctx, 'restful');
  });
  afterAll(async () => ctx?.close());
  const api = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown, extra: Record<string, string> = {}) =>
    ctx.t.app.inject({ method, url: `${P}${url}`, payload: payload as object, headers: { ...ctx.origin, cookie: m.cookie, ...extra } });
  const snapshot = async () => (await api('GET', '/export')).json();

  it('creates, edits (the key stays), lists with search and deletes rules', async () => {
    const a = (await api('POST', '/rules', { keywords: [{ text: '营业时间' }], replies: ['9-18'] })).json();
    const b = (
      await api('POST', '/rules', {
        keywords: [{ text: '电话', match: 'contains' }, { text: 'tel' }],
        replies: ['110', '120'],
        mode: 'random',
      })
    ).json();
    expect([a.key, b.key]).toEqual(['01', '02']);
    const edited = await api('PUT', `/rules/${a.id}`, { keywords: [{ text: '营业时间', match: 'contains' }], replies: ['早九晚六'] });
    expect(edited.json()).toMatchObject({
      id: a.id,
      key: '01',
      keywords: [{ text: '营业时间', match: 'contains' }],
      replies: ['早九晚六'],
      mode: 'all',
    });
    expect((await api('GET', '/rules?q=tel')).json()).toMatchObject({ total: 1, rules: [{ id: b.id, key: '02', mode: 'random' }] });
    expect((await api('DELETE', `/rules/${b.id}`)).statusCode).toBe(204);
    expect((await api('GET', `/rules/${b.id}`)).statusCode).toBe(404);
    const c = (await api('POST', '/rules', { keywords: [{ text: '电话' }], replies: ['新号码'] })).json();
    expect(c.key).toBe('03');
  });

  it('answers bad input with 400 bad_input and changes nothing', async () => {
    const before = await snapshot();
    const bad: [string, string, unknown][] = [
      ['POST', '/rules', { keywords: [], replies: ['x'] }],
      ['POST', '/rules', { keywords: [{ text: 'k', match: 'fuzzy' }], replies: ['x'] }],
      ['POST', '/rules', { keywords: [{ text: 'k' }], replies: [] }],
      ['POST', '/rules', { keywords: [{ text: '   ' }], replies: ['x'] }],
      ['POST', '/rules', { keywords: [{ text: 'k' }], replies: ['x'.repeat(2001)] }],
      ['POST', '/rules', { keywords: [{ text: 'k' }, { text: 'K' }], replies: ['x'] }],
      ['PUT', '/settings', { enabled: 'yes' }],
      [
        'POST',
        '/import',
        {
          rules: [
            { keywords: [{ text: 'ok' }], replies: ['fine'] },
            { keywords: [], replies: ['x'] },
          ],
        },
      ],
      ['GET', '/rules?limit=0', undefined],
      ['POST', '/accounts', { appid: 'not-an-appid', secret: 'membersecret000000000001', token: 'tok' }],
      ['POST', '/accounts', { appid: 'wxabcdef012345678', secret: 'membersecret000000000001', token: 'tok', aes_key: 'short' }],
    ];
    for (const [method, url, payload] of bad) {
      const r = await api(method as 'POST', url, payload);
      expect([400, 409], `${method} ${url} ${JSON.stringify(payload)}`).toContain(r.statusCode);
      expect(Object.keys(r.json()).sort()).toEqual(['code', 'message']);
      expect(r.body).not.toMatch(/at .*\.ts:\d+/);
    }
    const notJson = await ctx.t.app.inject({
      method: 'POST',
      url: `${P}/rules`,
      payload: '{"keywords":',
      headers: { ...ctx.origin, cookie: m.cookie, 'content-type': 'application/json' },
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().code).toBe('bad_input');
    expect(await snapshot()).toEqual(before);
    expect((await api('GET', '/accounts')).json().accounts).toEqual([]);
    expect((await api('GET', '/rules?account=999999')).statusCode).toBe(404);
  });

  it("answers with the member's own rules on a connected account, never returning the secret", async () => {
    const acc = (
      await api('POST', '/accounts', {
        appid: 'wxrestful00000001',
        secret: 'restfulsecret00000000001',
        token: 'restfultoken',
        name: '小店',
      })
    ).json();
    expect(acc).toMatchObject({ safeMode: false, name: '小店', verifiedAt: null });
    const listed = await api('GET', '/accounts');
    expect(listed.body).not.toContain('restfulsecret');
    expect(listed.body).not.toContain('restfultoken');
    const dup = await api('POST', '/accounts', { appid: 'wxrestful00000001', secret: 'restfulsecret00000000001', token: 'restfultoken' });
    expect(dup.statusCode).toBe(409);
    const path = new URL(acc.callback_url).pathname;
    const cred = { appid: 'wxrestful00000001', token: 'restfultoken' };
    // Own rule '营业时间' (contains, from the first test) answers on the account.
    expect((await send(ctx, path, cred, text('c1', '请问营业时间'))).reply).toBe('早九晚六');
    // The account's own rule wins over the member's for the same keyword.
    await api('POST', `/rules?account=${acc.id}`, { keywords: [{ text: '电话' }], replies: ['门店电话 123'] });
    expect((await send(ctx, path, cred, text('c1', '电话'))).reply).toBe('门店电话 123');
    // The account's own switch silences it without touching the member's switch.
    await api('PUT', `/settings?account=${acc.id}`, { enabled: false });
    expect((await send(ctx, path, cred, text('c1', '电话'))).raw).toBe('success');
    expect((await api('GET', '/settings')).json().enabled).toBe(true);
  });

  it('imports 1,200 rules in order, each with its own keywords and replies, keys following the order given', async () => {
    // Crosses the import's multi-row chunks (500 rows): a rule must keep its own keywords and
    // replies, and the keys follow the order given.
    const rules = Array.from({ length: 1200 }, (_, i) => ({
      keywords: i % 3 === 0 ? [{ text: `词${i}` }, { text: `kw${i}`, match: 'contains' }] : [{ text: `词${i}` }],
      replies: i % 4 === 0 ? [`第${i}条`, `again ${i}`] : [`第${i}条`],
      mode: i % 4 === 0 ? 'random' : 'all',
    }));
    const r = await api('POST', '/import', { replace: true, rules });
    expect(r.json()).toEqual({ imported: 1200 });
    const exported = (await api('GET', '/export')).json().rules as Array<{ keywords: unknown; replies: unknown; mode: string }>;
    expect(exported.map((x) => ({ keywords: x.keywords, replies: x.replies, mode: x.mode }))).toEqual(
      rules.map((x) => ({ keywords: x.keywords.map((k) => ({ match: 'equal', ...k })), replies: x.replies, mode: x.mode })),
    );
    const keyOf = async (kw: string) => (await api('GET', `/rules?q=${encodeURIComponent(kw)}`)).json().rules[0];
    const [firstRule, lastRule] = [await keyOf('词0'), await keyOf('词1199')];
    expect(lastRule.replies).toEqual(['第1199条']);
    expect(Number(lastRule.key) - Number(firstRule.key)).toBe(1199);
  });

  it('lists every route in the OpenAPI page with its schemas', async () => {
    const doc = (await ctx.t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const expected: [string, string][] = [
      ['post', '/account/register'],
      ['post', '/account/login'],
      ['get', '/account/logout'],
      ['get', '/mongodb/show'],
      ['post', '/mongodb/add'],
      ['delete', '/mongodb/delete'],
      ['get', '/database/show'],
      ['post', '/database/add'],
      ['get', '/database/delete/'],
      ['post', '/database/update/'],
      ['get', '/wechat/testlogin'],
      ['get', '/static/qrimages/{file}'],
      ['get', '/wechat/autoreply'],
      ['post', '/wechat/autoreply'],
      ['get', '/wechat/callback'],
      ['post', '/wechat/callback'],
      ['get', '/wechat/callback/{account}'],
      ['post', '/wechat/callback/{account}'],
      ['get', `${P}/me`],
      ['get', `${P}/rules`],
      ['post', `${P}/rules`],
      ['get', `${P}/rules/{id}`],
      ['put', `${P}/rules/{id}`],
      ['delete', `${P}/rules/{id}`],
      ['get', `${P}/settings`],
      ['put', `${P}/settings`],
      ['get', `${P}/export`],
      ['post', `${P}/import`],
      ['post', `${P}/accounts`],
      ['get', `${P}/accounts`],
      ['get', `${P}/accounts/{id}`],
      ['delete', `${P}/accounts/{id}`],
      ['post', `${P}/accounts/{id}/simulate`],
      ['post', `${P}/bind-qr`],
    ];
    for (const [method, path] of expected) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op.summary, `${method} ${path}`).toBeTruthy();
      if (['post', 'put'].includes(method) && !['/wechat/callback', '/wechat/callback/{account}', `${P}/bind-qr`].includes(path)) {
        expect(op.requestBody?.content?.['application/json']?.schema, `${method} ${path} body`).toBeDefined();
      }
      if (path.startsWith(P)) {
        const ok = op.responses['200'] ?? op.responses['201'] ?? op.responses['204'];
        expect(ok, `${method} ${path} response`).toBeDefined();
        expect(op.responses['400'], `${method} ${path} error`).toBeDefined();
      }
    }
    const rulesPost = doc.paths[`${P}/rules`].post.requestBody.content['application/json'].schema;
    expect(JSON.stringify(rulesPost)).toContain('contains');
  });
});
