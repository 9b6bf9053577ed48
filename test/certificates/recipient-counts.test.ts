/**
 * The volunteer list's total comes from per-(campaign, status) counts (issue 15): kept by
 * triggers for updates and deletes, and by the import itself, once per slice in the slice's
 * transaction (migration 1470: a per-row insert trigger tripled the import's time). They must
 * equal counting the rows after imports, status changes (link mailed, reset, claimed), a legacy
 * import, edits, deletes, a failed import slice, and on a campaign of its own.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { createRecipientsRepo } from '../../src/modules/certificates/recipients-repo.js';
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

  /** Every campaign's kept counts equal counting its rows (no row for a count of 0 is fine). */
  const exact = async () => {
    const kept = await t.core.db.selectFrom('recipient_counts').select(['campaign_id', 'status', 'n']).where('n', '<>', 0).execute();
    const rows = await t.core.db
      .selectFrom('recipients')
      .select(['campaign_id', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['campaign_id', 'status'])
      .execute();
    const key = (r: { campaign_id: number; status: number; n: number | string }) => `${r.campaign_id}/${r.status}=${Number(r.n)}`;
    expect(kept.map(key).sort()).toEqual(rows.map(key).sort());
  };

  it('stay exact under every writer of a status, and when an import slice fails', async () => {
    const repo = createRecipientsRepo(t.core.handle);
    const c = (await api('POST', `${P}/campaigns`, { name: 'Writers', slug: 'writers' })).json();
    const other = (await api('POST', `${P}/campaigns`, { name: 'Writers 2', slug: 'writers-2' })).json();
    // Import through the API in slices (more than one slice: 3,000 rows).
    await api('POST', '/api/addUserData', {
      token: ADMIN,
      campaign: 'writers',
      email: Array.from({ length: 3000 }, (_, i) => `w${i}@example.org`),
    });
    expect(await listed(c.id)).toBe(3000);
    await exact();
    // An import slice that fails part-way (a row the database refuses, after 600 good ones: more
    // than one multi-row statement) rolls back with its counts.
    const good = Array.from({ length: 600 }, (_, i) => ({ email: `crash${i}@example.org`, number: null, name: null }));
    await expect(
      t.core.db
        .transaction()
        .execute((trx) =>
          repo.insertMany(c.id, [...good, { email: null as unknown as string, number: null, name: null }], Date.now(), trx),
        ),
    ).rejects.toThrow();
    expect(await truth(c.id)).toBe(3000);
    expect(await listed(c.id)).toBe(3000);
    await exact();
    // Rows inserted at other statuses (the original's data.json), and a repeat adds nothing.
    const legacy = [0, 1, 2, 3, 4, 2].map((status, i) => ({
      email: `legacy${i}@example.org`,
      number: null,
      name: `L${i}`,
      status,
      token_hash: null,
      issued_at: status >= 2 ? Date.now() : null,
      certificate_id: status >= 2 ? `legacy-cert-${dialect}-${i}` : null,
    }));
    await t.core.db.transaction().execute((trx) => repo.insertLegacy(c.id, legacy, Date.now(), trx));
    await t.core.db.transaction().execute((trx) => repo.insertLegacy(c.id, legacy, Date.now(), trx));
    await repo.insertMany(
      c.id,
      [
        { email: 'w1@example.org', number: null, name: null },
        { email: 'single@example.org', number: null, name: null, status: 1 },
      ],
      Date.now(),
    );
    await exact();
    // The sender: links written, notices accepted (0 -> 1), a failure, a retry, a temporary failure.
    const ids = (
      await t.core.db
        .selectFrom('recipients')
        .select('id')
        .where('campaign_id', '=', c.id)
        .where('status', '=', 0)
        .orderBy('id')
        .limit(40)
        .execute()
    ).map((r) => r.id);
    await repo.setPendingTokens(
      ids.map((id) => [id, `hash-${dialect}-${id}`, `sealed-${id}`]),
      Date.now(),
    );
    await repo.markNoticesSent(ids.slice(0, 20), Date.now());
    await repo.markNoticeSent(ids[20]!, 1, Date.now());
    await repo.markFailed(ids[21]!, '550 no such user', Date.now());
    await repo.scheduleNoticeRetry(ids[22]!, 1, Date.now() + 1000, Date.now());
    await repo.retryFailedNotices(c.id, Date.now());
    await exact();
    // Claims (0/1 -> 2), delivery (2 -> 3 -> 4), a delivery failure, a reissue, resets.
    expect((await repo.submitName(ids[0]!, 'Claimed', `cert-${dialect}-a`, Date.now(), Date.now()))?.name).toBe('Claimed');
    expect((await repo.submitName(ids[30]!, 'Claimed 0', `cert-${dialect}-b`, Date.now(), Date.now()))?.name).toBe('Claimed 0');
    await repo.setStatus(ids[0]!, 3, Date.now());
    await repo.setStatus(ids[30]!, 4, Date.now(), { cert_count: 1 });
    await repo.noteDeliveryFailure(ids[0]!, '451 later', Date.now());
    await repo.reissued(ids[30]!, 'Renamed', `cert-${dialect}-c`, Date.now());
    await repo.reset(ids[1]!, 0, Date.now(), `cert-${dialect}-d`);
    await repo.reset(ids[2]!, 2, Date.now(), `cert-${dialect}-e`);
    await exact();
    // The console: an edit (email, name), a reset, deletes one and many.
    const first = (await api('GET', `${P}/campaigns/${c.id}/recipients?limit=3`)).json().items;
    expect(
      (await api('PATCH', `${P}/campaigns/${c.id}/recipients/${first[2].id}`, { email: 'edited@example.org', name: 'Edited' })).status,
    ).toBe(200);
    expect((await api('POST', `${P}/campaigns/${c.id}/recipients/${ids[3]}/reset`, {})).status).toBeLessThan(300);
    expect((await api('DELETE', `${P}/campaigns/${c.id}/recipients/${ids[4]}`)).status).toBe(200);
    const some = (await api('GET', `${P}/campaigns/${c.id}/recipients?status=0&limit=25`)).json().items.map((r: { id: number }) => r.id);
    expect((await api('POST', `${P}/campaigns/${c.id}/recipients/delete`, { ids: some })).status).toBe(200);
    await exact();
    for (const s of [undefined, 0, 1, 2, 3, 4]) expect(await listed(c.id, s)).toBe(await truth(c.id, s));
    // A campaign deleted with its volunteers leaves no counts behind; the other campaign's stay.
    await api('POST', '/api/addUserData', { token: ADMIN, campaign: 'writers-2', email: ['x1@example.org', 'x2@example.org'] });
    await sql`DELETE FROM campaigns WHERE id = ${c.id}`.execute(t.core.db);
    await exact();
    expect(await listed(other.id)).toBe(2);
  });
});
