/**
 * An import reports the lines whose email the campaign already has as duplicates, in line order
 * beside those repeated within the import, however its rows fall into the insert's slices (the
 * insert answers the emails it did not add, not a set of every email it did: issue 15).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { ADMIN, v2Api } from './helpers.js';

describe.each(testDialects())('import duplicates on %s', (dialect) => {
  let t: TestApp;
  const api = v2Api(() => t, '');
  beforeAll(async () => {
    t = await startTestApp({ dialect, startJobs: false });
    expect((await api('POST', '/api/v2/certificates/campaigns', { name: 'Dups', slug: 'dups' })).status).toBe(201);
  }, 60_000);
  afterAll(async () => t?.close());

  const add = async (email: string[]) => {
    const r = await api('POST', '/api/addUserData', { token: ADMIN, campaign: 'dups', email });
    expect(r.status, r.res.body).toBe(200);
    return r.json().data as { added: number; duplicates: { lineNo: number; email: string; reason: string }[]; rejected: unknown[] };
  };

  it('reports stored emails and repeats in line order, and adds the rest', async () => {
    const first = await add(Array.from({ length: 3000 }, (_, i) => `d${i}@example.org,N${i}`));
    expect(first).toMatchObject({ added: 3000, duplicates: [], rejected: [] });
    // 6,000 lines: every third one stored already (spread over the slices), a repeat of a new
    // email near the end, the rest new.
    const lines = Array.from({ length: 6000 }, (_, i) => (i % 3 === 0 ? `D${i / 3}@example.org` : `n${i}@example.org`));
    lines.push('n1@example.org');
    const second = await add(lines);
    expect(second.added).toBe(4000);
    expect(second.duplicates.map((d) => [d.lineNo, d.email, d.reason])).toEqual([
      ...Array.from({ length: 2000 }, (_, k) => [3 * k + 1, `d${k}@example.org`, `d${k}@example.org is already in this campaign`]),
      [6001, 'n1@example.org', 'n1@example.org is already in this import (line 2)'],
    ]);
    const rows = await t.core.db
      .selectFrom('recipients')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(rows.n)).toBe(7000);
    // All of it again: nothing added, every line a duplicate.
    const again = await add(lines.slice(0, 6000));
    expect(again.added).toBe(0);
    expect(again.duplicates).toHaveLength(6000);
  });
});
