/**
 * Issue 14 item 5: search finds a substring of the email, name or number (`王芳`, `WH2026-005`,
 * `example.org`), case-insensitively, and follows edits and deletes (SQLite: FTS5 trigram table
 * kept by triggers; PostgreSQL: pg_trgm). Speed is measured in bench/search.bench.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { ADMIN } from './helpers.js';

const P = '/api/v2/certificates';
const auth = { authorization: `Bearer ${ADMIN}` };

describe.each(testDialects())('volunteer search on %s', (dialect) => {
  let t: TestApp;
  const api = async (method: string, url: string, body?: unknown) => {
    const res = await t.app.inject({
      method: method as 'GET',
      url: `${P}${url}`,
      headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      payload: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.statusCode, json: () => res.json() };
  };
  const find = async (q: string, slug = 'srch') =>
    ((await api('GET', `/campaigns/${slug}/recipients?q=${encodeURIComponent(q)}`)).json().items as { email: string }[])
      .map((r) => r.email)
      .sort();

  beforeAll(async () => {
    t = await startTestApp({ dialect, startJobs: false });
    await api('POST', '/campaigns', { name: 'Search', slug: 'srch' });
    await api('POST', '/campaigns', { name: 'Other', slug: 'other' });
    await api('POST', '/campaigns/srch/recipients', {
      lines: [
        'wang.fang@qq.com,WH2026-005,王芳',
        'li@example.org,WH2026-006,Li Wei',
        'zhang@Example.ORG,WH2026-050,张伟',
        'o_k@corp.cn,X%1,O_K 100%',
        'fang2@corp.cn,,王芳芳',
      ],
    });
    await api('POST', '/campaigns/other/recipients', { lines: ['wang@example.org,WH2026-005,王芳'] });
  });
  afterAll(async () => t?.close());

  it('finds a substring of the name, the number or the email, only in this campaign', async () => {
    expect(await find('王芳')).toEqual(['fang2@corp.cn', 'wang.fang@qq.com']);
    expect(await find('王芳芳')).toEqual(['fang2@corp.cn']);
    expect(await find('WH2026-005')).toEqual(['wang.fang@qq.com']);
    expect(await find('wh2026-00')).toEqual(['li@example.org', 'wang.fang@qq.com']);
    expect(await find('example.org')).toEqual(['li@example.org', 'zhang@example.org']);
    expect(await find('EXAMPLE')).toEqual(['li@example.org', 'zhang@example.org']);
    expect(await find('wei')).toEqual(['li@example.org']);
    expect(await find('芳')).toEqual(['fang2@corp.cn', 'wang.fang@qq.com']);
    expect(await find('nobody')).toEqual([]);
  });

  it('counts a listing exactly and a search up to 10,000 (totalCapped beyond)', async () => {
    await api('POST', '/campaigns', { name: 'Many', slug: 'many' });
    const lines = Array.from({ length: 10_050 }, (_, i) => `m${i}@example.org`);
    expect((await api('POST', '/campaigns/many/recipients', { lines })).json().added).toBe(10_050);
    expect((await api('GET', '/campaigns/many/recipients?limit=1')).json()).toMatchObject({ total: 10_050 });
    expect((await api('GET', '/campaigns/many/recipients?limit=1')).json().totalCapped).toBeUndefined();
    expect((await api('GET', '/campaigns/many/recipients?limit=1&q=example')).json()).toMatchObject({ total: 10_000, totalCapped: true });
    expect((await api('GET', '/campaigns/many/recipients?limit=1&q=m1')).json()).toMatchObject({ total: 1 + 10 + 100 + 1000 + 50 });
    expect((await api('GET', '/campaigns/many/recipients?limit=1&q=m10049')).json()).toMatchObject({ total: 1 });
  }, 120_000);

  it('takes LIKE wildcards and quotes literally', async () => {
    expect(await find('%')).toEqual(['o_k@corp.cn']);
    expect(await find('o_k')).toEqual(['o_k@corp.cn']);
    expect(await find('100%')).toEqual(['o_k@corp.cn']);
    expect(await find('"王')).toEqual([]);
    expect((await api('GET', '/campaigns/srch/recipients?q=%22%22%22')).status).toBe(200);
  });

  it('follows edits and deletes', async () => {
    const [r] = (await api('GET', '/campaigns/srch/recipients?q=WH2026-006')).json().items;
    await api('PATCH', `/campaigns/srch/recipients/${r.id}`, { name: '李娜', number: 'WH2027-777' });
    expect(await find('WH2026-006')).toEqual([]);
    expect(await find('WH2027-777')).toEqual(['li@example.org']);
    expect(await find('李娜')).toEqual(['li@example.org']);
    await api('DELETE', `/campaigns/srch/recipients/${r.id}`);
    expect(await find('WH2027')).toEqual([]);
    expect(await find('example.org')).toEqual(['zhang@example.org']);
  });
});
