/**
 * The console's volunteer list pages by cursor (issue 15): a page answers `next` and `prev`
 * cursors, read from the (campaign_id[, status], id) index from where the last page ended (or
 * backwards from where it began; `last=true` reads the end of the index backwards), so a page
 * deep in 1,000,000 volunteers costs what the first one does. The pages are those of `page=N` (id
 * order), on both dialects, with a status filter and a search too, and a walk by cursors neither
 * skips nor repeats a volunteer when others are added or deleted between two of its requests
 * (an offset would: a deletion before it shifts every later page by one row).
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { searchIndexerFor } from '../../src/modules/certificates/search-indexer.js';
import { ADMIN, v2Api, V2 as P } from './helpers.js';

interface Page {
  items: { id: number; email: string; status: number }[];
  total: number;
  next: string | null;
  prev: string | null;
  page: number;
}

const N = 3_000;
const LIMIT = 50;

describe.each(testDialects())('volunteer list cursors on %s', (dialect) => {
  let t: TestApp;
  let cid: number;
  const api = v2Api(() => t, '');
  const list = async (query: string): Promise<Page> => {
    const r = await api('GET', `${P}/campaigns/${cid}/recipients?limit=${LIMIT}${query}`);
    expect(r.status, r.res.body).toBe(200);
    return r.json();
  };
  /** The rows in id order, straight from the table (the truth). */
  const truth = async (where: (q: any) => any = (q) => q) =>
    (
      await where(t.core.db.selectFrom('recipients').select(['id', 'email']).where('campaign_id', '=', cid))
        .orderBy('id')
        .execute()
    ).map((r: { email: string }) => r.email) as string[];
  const emails = (p: Page) => p.items.map((r) => r.email);

  beforeAll(async () => {
    t = await startTestApp({ dialect, startJobs: false });
    cid = (await api('POST', `${P}/campaigns`, { name: 'Cursors', slug: 'cursors' })).json().id;
    const r = await api('POST', '/api/addUserData', {
      token: ADMIN,
      campaign: 'cursors',
      email: Array.from({ length: N }, (_, i) => `c${String(i).padStart(5, '0')}@example.org,N${i}`),
    });
    expect(r.json().data.added).toBe(N);
    // Every seventh volunteer has a link (status 1): the status filter's pages.
    await sql`UPDATE recipients SET status = 1 WHERE campaign_id = ${cid} AND id % 7 = 0`.execute(t.core.db);
  }, 60_000);
  afterAll(async () => t?.close());

  it('walks to a deep page by next cursors and back by prev cursors, the same rows as page numbers', async () => {
    const all = await truth();
    let p = await list('');
    expect(p.prev).toBeNull();
    expect(emails(p)).toEqual(all.slice(0, LIMIT));
    for (let n = 2; n <= 40; n++) {
      p = await list(`&cursor=${encodeURIComponent(p.next!)}`);
      expect(emails(p), `page ${n}`).toEqual(all.slice((n - 1) * LIMIT, n * LIMIT));
      expect(p.total).toBe(N);
    }
    // The page-number API answers the same page, and cursors from there.
    const byNumber = await list('&page=40');
    expect(byNumber.page).toBe(40);
    expect(emails(byNumber)).toEqual(emails(p));
    expect(byNumber.next).toBe(p.next);
    for (let n = 39; n >= 1; n--) {
      p = await list(`&cursor=${encodeURIComponent(p.prev!)}`);
      expect(emails(p), `back to page ${n}`).toEqual(all.slice((n - 1) * LIMIT, n * LIMIT));
    }
    expect(p.prev).toBeNull();
  });

  it('reads the last page backwards, and pages back from it', async () => {
    const all = await truth();
    let p = await list('&last=true');
    expect(emails(p)).toEqual(all.slice(N - LIMIT));
    expect(p.next).toBeNull();
    expect(p.page).toBe(N / LIMIT);
    p = await list(`&cursor=${encodeURIComponent(p.prev!)}`);
    expect(emails(p)).toEqual(all.slice(N - 2 * LIMIT, N - LIMIT));
    p = await list(`&cursor=${encodeURIComponent(p.next!)}`);
    expect(emails(p)).toEqual(all.slice(N - LIMIT));
    expect(p.next).toBeNull();
    // Page numbers: the last page of 3,000 is 60; nothing beyond it.
    expect(emails(await list('&page=60'))).toEqual(all.slice(N - LIMIT));
    const past = await list('&page=61');
    expect(past.items).toEqual([]);
    expect(past.next).toBeNull();
  });

  it('pages a status filter and a search by cursor', async () => {
    const linked = await truth((q) => q.where('status', '=', 1));
    let p = await list('&status=1');
    const seen = [...emails(p)];
    while (p.next) {
      p = await list(`&status=1&cursor=${encodeURIComponent(p.next)}`);
      seen.push(...emails(p));
    }
    expect(seen).toEqual(linked);
    const last = await list('&status=1&last=true');
    expect(emails(last)).toEqual(linked.slice(-LIMIT));
    // A search of 3+ characters (SQLite: the trigram table, before and after the background
    // indexer reached the rows) and one of 2 (the bounded scan).
    const searches = ['@example', 'c0', '9@ex'];
    if (dialect === 'sqlite') searches.push('indexed', ...searches);
    for (const q of searches) {
      if (q === 'indexed') {
        await searchIndexerFor(t.core.handle)!.drain();
        continue;
      }
      const want = all(await truth(), q);
      const got: string[] = [];
      let s = await list(`&q=${encodeURIComponent(q)}`);
      got.push(...emails(s));
      while (s.next) {
        s = await list(`&q=${encodeURIComponent(q)}&cursor=${encodeURIComponent(s.next)}`);
        got.push(...emails(s));
      }
      expect(got, q).toEqual(want);
      const end = await list(`&q=${encodeURIComponent(q)}&last=true`);
      expect(emails(end), q).toEqual(want.slice(-LIMIT));
      if (want.length > LIMIT) {
        const before = await list(`&q=${encodeURIComponent(q)}&cursor=${encodeURIComponent(end.prev!)}`);
        expect(emails(before), q).toEqual(want.slice(-2 * LIMIT, -LIMIT));
      }
    }
    function all(rows: string[], q: string) {
      return rows.filter((e) => e.includes(q) || `N${Number(e.slice(1, 6))}`.includes(q));
    }
  });

  it('answers a page number past the middle (read backwards from the end) with the rows of the forward order', async () => {
    // Some failed notices: the failed filter's total comes from its partial index.
    await sql`UPDATE recipients SET failure = 'bounced' WHERE campaign_id = ${cid} AND id % 11 = 0`.execute(t.core.db);
    try {
      const byNumber = async (query: string, limit: number) => {
        const r = await api('GET', `${P}/campaigns/${cid}/recipients?limit=${limit}${query}`);
        expect(r.status, r.res.body).toBe(200);
        return r.json() as Promise<Page>;
      };
      const filters: Array<[string, (q: any) => any]> = [
        ['', (q) => q],
        ['&status=1', (q) => q.where('status', '=', 1)],
        ['&failed=true', (q) => q.where('failure', 'is not', null)],
      ];
      for (const [filter, where] of filters) {
        const want = await truth(where);
        // 70 a page: the last one is partial for each filter.
        for (const limit of [LIMIT, 70]) {
          const pages = Math.ceil(want.length / limit);
          for (const n of new Set([1, Math.floor(pages / 2), Math.floor(pages / 2) + 1, pages - 2, pages - 1, pages, pages + 1])) {
            if (n < 1) continue;
            const p = await byNumber(`${filter}&page=${n}`, limit);
            const rows = want.slice((n - 1) * limit, n * limit);
            expect(emails(p), `${filter} page ${n} of ${pages} (${limit} a page)`).toEqual(rows);
            expect(p.total).toBe(want.length);
            // The cursors beside it lead on as from a page read forwards.
            expect(p.next !== null, `${filter} page ${n}: next`).toBe(n < pages);
            if (p.next)
              expect(emails(await byNumber(`${filter}&cursor=${encodeURIComponent(p.next)}`, limit))).toEqual(
                want.slice(n * limit, (n + 1) * limit),
              );
            if (n > 1 && n <= pages)
              expect(emails(await byNumber(`${filter}&cursor=${encodeURIComponent(p.prev!)}`, limit))).toEqual(
                want.slice((n - 2) * limit, (n - 1) * limit),
              );
          }
        }
      }
      // Gaps in the campaign's ids (deleted volunteers), and another campaign's rows among its
      // ids: pages by number still count rows, not ids.
      const other = (await api('POST', `${P}/campaigns`, { name: 'Other', slug: 'cursors-other' })).json().id;
      await api('POST', '/api/addUserData', { token: ADMIN, campaign: 'cursors-other', email: ['o1@example.org', 'o2@example.org'] });
      await api('POST', '/api/addUserData', { token: ADMIN, campaign: 'cursors', email: ['late1@example.org', 'late2@example.org'] });
      const interleaved = await truth();
      expect(emails(await byNumber('&page=4', 500))).toEqual(interleaved.slice(1500, 2000));
      expect(emails(await byNumber('&page=7', 500))).toEqual(interleaved.slice(3000));
      for (const gap of [interleaved[10]!, interleaved[1500]!])
        await sql`DELETE FROM recipients WHERE campaign_id = ${cid} AND email = ${gap}`.execute(t.core.db);
      const gapped = await truth();
      for (const n of [1, 2, 3, 4, 5, 6, 7])
        expect(emails(await byNumber(`&page=${n}`, 500)), `gapped page ${n}`).toEqual(gapped.slice((n - 1) * 500, n * 500));
      expect(other).toBeGreaterThan(0);
    } finally {
      await sql`UPDATE recipients SET failure = NULL WHERE campaign_id = ${cid}`.execute(t.core.db);
    }
  });

  it('neither skips nor repeats a volunteer when others are added and deleted between two pages', async () => {
    const before = await truth();
    const deleted = new Set<string>();
    const added: string[] = [];
    const seen: string[] = [];
    let p = await list('');
    seen.push(...emails(p));
    for (let step = 0; p.next; step++) {
      // Between two requests: one volunteer already shown and one not yet reached are deleted,
      // and a new one is added (at the end: ids grow).
      const shown = seen[Math.floor(seen.length / 2)]!;
      const ahead = before[Math.min(before.length - 1, seen.length + 30 + step)]!;
      for (const e of [shown, ahead]) {
        if (deleted.has(e)) continue;
        await sql`DELETE FROM recipients WHERE campaign_id = ${cid} AND email = ${e}`.execute(t.core.db);
        deleted.add(e);
      }
      if (step % 5 === 0) {
        const e = `new${step}@example.org`;
        await api('POST', '/api/addUserData', { token: ADMIN, campaign: 'cursors', email: [e] });
        added.push(e);
      }
      p = await list(`&cursor=${encodeURIComponent(p.next)}`);
      seen.push(...emails(p));
    }
    expect(new Set(seen).size).toBe(seen.length);
    // Every volunteer there from start to end is listed once, in id order, and so is every one
    // added meanwhile (after the rows already there).
    const kept = before.filter((e) => !deleted.has(e) || seen.indexOf(e) >= 0);
    expect(seen.filter((e) => !added.includes(e))).toEqual(kept);
    expect(seen.filter((e) => added.includes(e))).toEqual(added);
    // The same walk backwards from the end, after more deletions: again each row once.
    const now = await truth();
    const back: string[] = [];
    let q = await list('&last=true');
    back.unshift(...emails(q));
    for (let step = 0; q.prev; step++) {
      const shown = back[Math.floor(back.length / 2)]!;
      await sql`DELETE FROM recipients WHERE campaign_id = ${cid} AND email = ${shown}`.execute(t.core.db);
      q = await list(`&cursor=${encodeURIComponent(q.prev)}`);
      back.unshift(...emails(q));
    }
    expect(back).toEqual(now);
  });

  it('refuses a cursor that is not one', async () => {
    expect((await api('GET', `${P}/campaigns/${cid}/recipients?cursor=x1`)).status).toBe(400);
    expect((await api('GET', `${P}/campaigns/${cid}/recipients?cursor=${encodeURIComponent('a1')}&last=true`)).status).toBe(400);
  });
});
