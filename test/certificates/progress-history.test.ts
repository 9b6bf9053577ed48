/**
 * Issue 14 item 6: progress over time is the fleet's, read from the database: notices sent,
 * certificates claimed and notices failed per minute (not what one console page happened to see),
 * through partial indexes (migration 1460) rather than a pass over the campaign.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { ADMIN, v2Api } from './helpers.js';

describe.each(testDialects())('progress over time on %s', (dialect) => {
  let t: TestApp;
  const api = v2Api(() => t);

  beforeAll(async () => {
    t = await startTestApp({ dialect, startJobs: false });
  });
  afterAll(async () => t?.close());

  it('counts sent, claimed and failed per minute over the last 15 minutes, from the database', async () => {
    const c = (await api('POST', '/campaigns', { name: 'History', slug: 'history' })).json() as { id: number };
    await t.app.inject({
      method: 'POST',
      url: '/api/addUserData',
      payload: { token: ADMIN, campaign: 'history', email: Array.from({ length: 6 }, (_, i) => `h${i}@example.org`) },
    });
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const ids = (await sql<{ id: number }>`SELECT id FROM recipients WHERE campaign_id = ${c.id} ORDER BY id`.execute(t.core.db)).rows.map(
      (r) => Number(r.id),
    );
    // As other instances would write them: four notices this minute, one two minutes ago, one an
    // hour ago (outside the window); one claim this minute; one failure two minutes ago.
    const at = (id: number, col: string, ms: number) =>
      sql`UPDATE recipients SET ${sql.ref(col)} = ${ms} WHERE id = ${id}`.execute(t.core.db);
    for (const id of ids.slice(0, 4)) await at(id, 'noticed_at', minute + 1000);
    await at(ids[4], 'noticed_at', minute - 2 * 60_000 + 5);
    await at(ids[5], 'noticed_at', minute - 60 * 60_000);
    await at(ids[0], 'claimed_at', minute + 2000);
    await at(ids[4], 'failed_at', minute - 2 * 60_000 + 10);

    const p = (await api('GET', `/campaigns/${c.id}/progress`)).json();
    expect(p.history).toEqual([
      { at: minute - 2 * 60_000, sent: 1, claimed: 0, failed: 1 },
      { at: minute, sent: 4, claimed: 1, failed: 0 },
    ]);
    // The fleet's pace for the time left comes from the same column.
    expect(p.ratePerMin).toBe(4);
  });

  it('reads the times through partial indexes', async () => {
    const names =
      dialect === 'sqlite'
        ? (await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'recipients'`.execute(t.core.db))
            .rows
        : (await sql<{ name: string }>`SELECT indexname AS name FROM pg_indexes WHERE tablename = 'recipients'`.execute(t.core.db)).rows;
    expect(names.map((r) => r.name)).toEqual(
      expect.arrayContaining(['recipients_noticed_at', 'recipients_claimed_at', 'recipients_failed_at']),
    );
  });
});
