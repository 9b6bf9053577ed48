/**
 * Searches of 1-2 characters (issue 15): no trigram index serves them, so they read rows; on a
 * campaign larger than SHORT_SEARCH_ROWS they look at its first SHORT_SEARCH_ROWS volunteers
 * only (a bounded answer at 1,000,000), and say so (`searchedRows`, a total that is a floor).
 * On a smaller campaign they find every match, as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { SHORT_SEARCH_ROWS } from '../../src/modules/certificates/recipients-repo.js';
import { ADMIN } from './helpers.js';

const P = '/api/v2/certificates';
const auth = { authorization: `Bearer ${ADMIN}` };

describe.each(testDialects())('short searches on %s', (dialect) => {
  let t: TestApp;
  let big: number;
  let small: number;
  const get = async (url: string) => {
    const r = await t.app.inject({ method: 'GET', url, headers: auth });
    expect(r.statusCode).toBe(200);
    return r.json() as { items: { email: string; name: string | null }[]; total: number; totalCapped?: boolean; searchedRows?: number };
  };
  const post = async (url: string, body: unknown) =>
    (
      await t.app.inject({ method: 'POST', url, headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify(body) })
    ).json() as any;

  beforeAll(async () => {
    t = await startTestApp({ dialect, startJobs: false });
    big = (await post(`${P}/campaigns`, { name: 'Big', slug: 'big' })).id;
    small = (await post(`${P}/campaigns`, { name: 'Small', slug: 'small' })).id;
    // Volunteer i is named "v<i>"; the last five, beyond the window, carry "qz" (and "Zhang 张伟" in CJK).
    const lines = Array.from({ length: SHORT_SEARCH_ROWS + 5 }, (_, i) =>
      i < SHORT_SEARCH_ROWS ? `v${i}@example.org,N${i},v${i}` : `late${i}qz@example.org,N${i},张伟${i}`,
    );
    lines[7] = 'early-qz@example.org,N7,张伟';
    const r = await post('/api/addUserData', { token: ADMIN, campaign: 'big', email: lines });
    expect(r.data.added).toBe(SHORT_SEARCH_ROWS + 5);
    await post('/api/addUserData', {
      token: ADMIN,
      campaign: 'small',
      email: ['a-qz@example.org,1,张伟', 'b@example.org,2,李四', 'c-QZ@example.org'],
    });
  }, 120_000);
  afterAll(async () => t?.close());

  it('look at the first volunteers of a large campaign, and say how many', async () => {
    const qz = await get(`${P}/campaigns/${big}/recipients?q=qz&limit=50`);
    expect(qz.items.map((r) => r.email)).toEqual(['early-qz@example.org']);
    expect(qz).toMatchObject({ total: 1, totalCapped: true, searchedRows: SHORT_SEARCH_ROWS });
    const cjk = await get(`${P}/campaigns/${big}/recipients?q=${encodeURIComponent('张伟')}`);
    expect(cjk.items.map((r) => r.name)).toEqual(['张伟']);
    // Dense matches page as before: "v1" is in v1, v10..v19, v100..., 11,111 of the first 20,000.
    const v1 = await get(`${P}/campaigns/${big}/recipients?q=v1&limit=10&page=2`);
    expect(v1.total).toBe(11_111);
    expect(v1.items).toHaveLength(10);
    expect(v1.items[0]!.email).toBe('v19@example.org');
    // Three characters search them all (the trigram index).
    const three = await get(`${P}/campaigns/${big}/recipients?q=qz%40&limit=50`);
    expect(three.items).toHaveLength(6);
    expect(three.searchedRows).toBeUndefined();
  });

  it('find every match in a smaller campaign', async () => {
    const qz = await get(`${P}/campaigns/${small}/recipients?q=qz`);
    expect(qz.items.map((r) => r.email)).toEqual(['a-qz@example.org', 'c-qz@example.org']);
    expect(qz.total).toBe(2);
    expect(qz.totalCapped).toBeUndefined();
    expect(qz.searchedRows).toBeUndefined();
  });
});
