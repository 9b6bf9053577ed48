/**
 * Issue 15, "flat cost at 1,000,000": getUserInfo's lookup by link token reads one index and not
 * the recipients table. Through the unique token index it took a second B-tree descent into the
 * table for the row's columns; the table of a 1,000,000-volunteer campaign is ten times the size of
 * a 100,000 one, and its leaf pages are where the lookups of a big campaign missed the CPU's
 * caches (getUserInfo at 1,000,000 was 0.84-0.90 of its 100,000 figure). The covering index holds
 * the token's row as the lookup answers it, and SQLite keeps it with every write of those columns.
 */
import { describe, expect, it } from 'vitest';
import { modules } from '../../src/app.js';
import { migrateToLatest } from '../../src/platform/db/migrate.js';
import { createRecipientsRepo, TOKEN_LOOKUP_SQL } from '../../src/modules/certificates/recipients-repo.js';
import { hashToken } from '../../src/platform/crypto/tokens.js';
import { testDialects } from '../helpers/db.js';
import { insertCampaign } from '../helpers/campaigns.js';
import { emptyDatabaseEach } from '../helpers/migrations.js';

describe.each(testDialects())('the link token lookup on %s', (dialect) => {
  const open = emptyDatabaseEach(dialect, 'vh-token-lookup-');

  it('answers what the row holds now, through every change of the columns it reads', async () => {
    const handle = await open();
    const db = handle.db;
    await migrateToLatest(db, modules);
    const now = Date.now();
    const campaign = await insertCampaign(db, 'tokens', 'tokens', now);
    await db
      .insertInto('recipients')
      .values([
        { campaign_id: campaign, email: 'a@example.org', status: 1, token_hash: hashToken('link-a'), created_at: now, updated_at: now },
        { campaign_id: campaign, email: 'b@example.org', status: 0, created_at: now, updated_at: now },
      ])
      .execute();
    const repo = createRecipientsRepo(handle);
    // Both of the repo's lookups: getUserInfo's with the miss counter (SQLite files), and the plain
    // one (PostgreSQL, an in-memory SQLite database); they must answer alike.
    const look = async (token: string) => {
      const plain = await repo.findByTokenHash(hashToken(token));
      const both = repo.findByTokenHashWithCounter?.(hashToken(token), 'claim:client:test');
      if (both) expect(both.hit).toEqual(plain);
      return plain && { email: plain.email, name: plain.name, status: plain.status, failure: plain.failure };
    };
    expect(await look('link-a')).toEqual({ email: 'a@example.org', name: null, status: 1, failure: null });
    await db
      .updateTable('recipients')
      .set({ name: '李 Name', status: 3, failure: 'mailbox full' })
      .where('email', '=', 'a@example.org')
      .execute();
    expect(await look('link-a')).toEqual({ email: 'a@example.org', name: '李 Name', status: 3, failure: 'mailbox full' });
    // A new link for the volunteer: the old one finds nothing, the new one the row.
    await db
      .updateTable('recipients')
      .set({ token_hash: hashToken('link-a2'), email: 'a2@example.org' })
      .where('email', '=', 'a@example.org')
      .execute();
    expect(await look('link-a')).toBeUndefined();
    expect(await look('link-a2')).toMatchObject({ email: 'a2@example.org', status: 3 });
    // A link given to a volunteer imported without one.
    await db
      .updateTable('recipients')
      .set({ token_hash: hashToken('link-b'), status: 1 })
      .where('email', '=', 'b@example.org')
      .execute();
    expect(await look('link-b')).toMatchObject({ email: 'b@example.org', status: 1 });
    await db.deleteFrom('recipients').where('email', '=', 'b@example.org').execute();
    expect(await look('link-b')).toBeUndefined();

    if (dialect !== 'sqlite') return; // PostgreSQL: its planner and visibility map decide; the unique index serves it.
    const plan = handle
      .sqlite!.prepare(`EXPLAIN QUERY PLAN ${TOKEN_LOOKUP_SQL}`)
      .all('claim:client:test', hashToken('link-a2'))
      .map((r) => (r as { detail: string }).detail);
    // One index for the row, no descent into the table (SQLite says COVERING when it reads none).
    expect(plan.find((d) => d.includes(' r '))).toMatch(/^SEARCH r USING COVERING INDEX recipients_token_lookup \(token_hash=\?\)$/);
  });
});
