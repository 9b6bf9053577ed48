/**
 * Issue 15: at start the service looks for volunteers left at status 2-3 with no failure (their
 * deliver job is re-enqueued if lost, claims.ts). That lookup scanned every recipient: 210 ms at
 * 1,000,000, and the scan filled the main connection's page cache (better-sqlite3's 16 MB), so an
 * idle service restarted on a big campaign held ~16 MB more than on a small one. A partial index
 * of exactly those rows (few: claims between submit and delivery) answers it without the scan.
 */
import { describe, expect, it } from 'vitest';
import { modules } from '../../src/app.js';
import { migrateToLatest } from '../../src/platform/db/migrate.js';
import { createRecipientsRepo } from '../../src/modules/certificates/recipients-repo.js';
import { testDialects } from '../helpers/db.js';
import { insertCampaign } from '../helpers/campaigns.js';
import { emptyDatabaseEach } from '../helpers/migrations.js';

describe.each(testDialects())('recipients awaiting delivery on %s', (dialect) => {
  const open = emptyDatabaseEach(dialect, 'vh-awaiting-');

  it('are found through their own partial index, not a scan of every recipient', async () => {
    const handle = await open();
    const db = handle.db;
    await migrateToLatest(db, modules);
    const now = Date.now();
    const campaign = await insertCampaign(db, 'awaiting', 'awaiting', now);
    const row = (email: string, status: number, failure: string | null) => ({
      campaign_id: campaign,
      email,
      status,
      failure,
      created_at: now,
      updated_at: now,
    });
    await db
      .insertInto('recipients')
      .values([
        row('new@example.org', 0, null),
        row('claimed@example.org', 2, null),
        row('rendered@example.org', 3, null),
        row('failed@example.org', 2, 'smtp 451'),
        row('delivered@example.org', 4, null),
      ])
      .execute();
    const repo = createRecipientsRepo(handle);
    const ids = (await repo.awaitingDelivery(1000)).map((r) => Number(r.id)).sort((x, y) => x - y);
    const byEmail = await db.selectFrom('recipients').select(['id', 'email']).execute();
    const idOf = (e: string) => Number(byEmail.find((r) => r.email === e)!.id);
    expect(ids).toEqual([idOf('claimed@example.org'), idOf('rendered@example.org')]);

    if (dialect !== 'sqlite') return; // PostgreSQL's planner picks by statistics; the index is there for it too.
    // The repo's query (recipients-repo.ts, awaitingDelivery), its condition in literals as there.
    const plan = handle
      .sqlite!.prepare(`EXPLAIN QUERY PLAN SELECT id FROM recipients WHERE status IN (2, 3) AND failure IS NULL LIMIT 1000`)
      .all()
      .map((r) => (r as { detail: string }).detail)
      .join(' | ');
    expect(plan).toContain('recipients_awaiting_delivery');
    expect(plan).not.toMatch(/^SCAN recipients$|SCAN recipients(?! USING)/);
  });
});
