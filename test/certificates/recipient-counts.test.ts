/**
 * The volunteer list's total comes from per-(campaign, status) counts kept by triggers
 * (migration 1310, issue 15): it must equal counting the rows after imports, status changes
 * (link mailed, reset, claimed), a legacy import, and on a campaign of its own.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { ADMIN, v2Api, V2 as P } from './helpers.js';

describe.each(testDialects())('volunteer list totals on %s', (dialect) => {
  let t: TestApp;
  const api = v2Api(() => t, '');
  const truth = async (campaignId: number, status?: number) => {
    let q = t.core.db.selectFrom('recipients').where('campaign_id', '=', campaignId);
    if (status !== undefined) q = q.where('status', '=', status);
    return Number((await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  };
  const listed = async (id: number | string, status?: number) =>
    (await api('GET', `${P}/campaigns/${id}/recipients?limit=5${status === undefined ? '' : `&status=${status}`}`)).json().total as number;

  beforeAll(async () => {
    t = await startTestApp({ dialect, startJobs: false });
  });
  afterAll(async () => t?.close());

  it('match counting the rows through imports and status changes', async () => {
    const a = (await api('POST', `${P}/campaigns`, { name: 'Counts A', slug: 'counts-a' })).json();
    const b = (await api('POST', `${P}/campaigns`, { name: 'Counts B', slug: 'counts-b' })).json();
    expect(await listed(a.id)).toBe(0);
    await api('POST', '/api/addUserData', {
      token: ADMIN,
      campaign: 'counts-a',
      email: Array.from({ length: 30 }, (_, i) => `a${i}@example.org`),
    });
    // Duplicates are not added, so not counted.
    await api('POST', '/api/addUserData', { token: ADMIN, campaign: 'counts-a', email: ['a1@example.org', 'a30@example.org'] });
    await api('POST', '/api/addUserData', { token: ADMIN, campaign: 'counts-b', email: ['b1@example.org', 'b2@example.org'] });
    expect(await listed(a.id)).toBe(31);
    expect(await listed(b.id)).toBe(2);
    // Status changes as the send job and claims make them, straight in SQL (any writer).
    await sql`UPDATE recipients SET status = 1 WHERE campaign_id = ${a.id} AND email LIKE ${'a1%'}`.execute(t.core.db);
    await sql`UPDATE recipients SET status = 2 WHERE campaign_id = ${a.id} AND email = ${'a2@example.org'}`.execute(t.core.db);
    await sql`UPDATE recipients SET updated_at = updated_at + 1 WHERE campaign_id = ${a.id}`.execute(t.core.db);
    for (const s of [undefined, 0, 1, 2, 3]) expect(await listed(a.id, s)).toBe(await truth(a.id, s));
    // Back to 0 through the API's reset.
    const one = (await api('GET', `${P}/campaigns/${a.id}/recipients?status=1&limit=1`)).json().items[0];
    expect((await api('POST', `${P}/campaigns/${a.id}/recipients/${one.id}/reset`, {})).status).toBeLessThan(300);
    for (const s of [undefined, 0, 1, 2]) expect(await listed(a.id, s)).toBe(await truth(a.id, s));
    // A row deleted (as an operator's cleanup would) and one moved to another campaign.
    await sql`DELETE FROM recipients WHERE campaign_id = ${a.id} AND email = ${'a3@example.org'}`.execute(t.core.db);
    await sql`UPDATE recipients SET campaign_id = ${b.id} WHERE campaign_id = ${a.id} AND email = ${'a4@example.org'}`.execute(t.core.db);
    for (const c of [a.id, b.id]) for (const s of [undefined, 0, 1, 2]) expect(await listed(c, s)).toBe(await truth(c, s));
    // The campaign's progress counts: by status from the kept counts, failures from their index.
    await sql`UPDATE recipients SET failure = ${'550 no such user'} WHERE campaign_id = ${a.id} AND email IN (${'a5@example.org'}, ${'a6@example.org'})`.execute(
      t.core.db,
    );
    const view = (await api('GET', `${P}/campaigns/${a.id}`)).json();
    for (const s of [0, 1, 2, 3, 4]) expect(view.counts[String(s)]).toBe(await truth(a.id, s));
    expect(view.counts.failed).toBe(2);
    expect((await api('GET', `${P}/campaigns/${a.id}/recipients?failed=true`)).json().total).toBe(2);
    // The search still counts its matches.
    expect((await api('GET', `${P}/campaigns/${a.id}/recipients?q=a1`)).json().total).toBe(11);
  });
});
