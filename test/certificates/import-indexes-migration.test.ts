/**
 * Migration 1480 (issue 15, fewer index entries per imported row) on a database that has data:
 * the link and certificate ids stay unique where present (now partial indexes, no entry for an
 * imported row's NULLs), and on SQLite the search's per-row `search_indexed` flag becomes one
 * watermark. Rows the old indexer had not reached yet (it went campaign by campaign, so some lie
 * below indexed ones) are indexed by the migration; afterwards every row is found, the FTS table
 * passes its integrity check through deletes, edits and a row moved to another campaign, and the
 * indexer takes new rows from the watermark on.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { modules } from '../../src/app.js';
import { migrateToLatest } from '../../src/platform/db/migrate.js';
import { searchIndexerFor } from '../../src/modules/certificates/search-indexer.js';
import { createRecipientsRepo } from '../../src/modules/certificates/recipients-repo.js';
import { testDialects } from '../helpers/db.js';
import { insertCampaign } from '../helpers/campaigns.js';
import { emptyDatabaseEach, insertOutcome, migrationsWithout } from '../helpers/migrations.js';

const NEW = '1480_recipients_import_indexes';

describe.each(testDialects())('migration 1480 on %s', (dialect) => {
  const open = emptyDatabaseEach(dialect, 'vh-mig1480-');

  it(`${NEW}: keeps the ids unique and every row searchable`, async () => {
    const handle = await open();
    const db = handle.db;
    await migrateToLatest(db, migrationsWithout(NEW));
    const now = Date.now();
    const a = await insertCampaign(db, 'mig-a');
    const b = await insertCampaign(db, 'mig-b');
    const row = (campaign_id: number, email: string, extra: Record<string, unknown> = {}) => ({
      campaign_id,
      email,
      name: `名字 ${email}`,
      number: `N-${email.slice(0, 3)}`,
      status: 0,
      token_hash: null,
      certificate_id: null,
      created_at: now,
      updated_at: now,
      ...extra,
    });
    // Ids 1-3 in campaign B, 4-6 in A; the old indexer (campaign by campaign) has done A only.
    await db
      .insertInto('recipients')
      .values([
        row(b, 'bee1@b.example', { token_hash: 'hash-1' }),
        row(b, 'bee2@b.example', { certificate_id: 'cert-1', status: 2 }),
        row(b, 'bee3@b.example'),
        row(a, 'ant1@a.example'),
        row(a, 'ant2@a.example'),
        row(a, 'ant3@a.example'),
      ])
      .execute();
    if (dialect === 'sqlite') {
      await sql`INSERT INTO recipients_fts(rowid, email, name, number) SELECT id, email, name, number FROM recipients WHERE campaign_id = ${a}`.execute(
        db,
      );
      await sql`UPDATE recipients SET search_indexed = 1 WHERE campaign_id = ${a}`.execute(db);
    }

    await migrateToLatest(db, modules);

    // SQLite's search (the integrity check compares the FTS table with every row: all are indexed here).
    const s = handle.sqlite;
    const intact = () => s!.prepare(`INSERT INTO recipients_fts(recipients_fts, rank) VALUES ('integrity-check', 1)`).run();
    const mark = () => (s!.prepare('SELECT indexed_to AS n FROM recipients_search_progress').get() as { n: number }).n;
    const found = (q: string) =>
      (
        s!
          .prepare(`SELECT r.email FROM recipients_fts f JOIN recipients r ON r.id = f.rowid WHERE recipients_fts MATCH ? ORDER BY r.id`)
          .all(`"${q}"`) as { email: string }[]
      ).map((r) => r.email);
    if (s) {
      const cols = s.prepare(`SELECT name FROM pragma_table_info('recipients')`).all() as { name: string }[];
      expect(cols.map((c) => c.name)).not.toContain('search_indexed');
      expect(mark()).toBe(6);
      intact();
      expect(found('example')).toEqual([
        'bee1@b.example',
        'bee2@b.example',
        'bee3@b.example',
        'ant1@a.example',
        'ant2@a.example',
        'ant3@a.example',
      ]);
      // Deletes, edits and a move of indexed rows keep the table whole.
      await sql`DELETE FROM recipients WHERE email = ${'bee3@b.example'}`.execute(db);
      await sql`UPDATE recipients SET email = ${'ant1x@a.example'} WHERE email = ${'ant1@a.example'}`.execute(db);
      await sql`UPDATE recipients SET campaign_id = ${a} WHERE email = ${'bee1@b.example'}`.execute(db);
      await sql`UPDATE recipients SET name = ${'moved'} WHERE email = ${'bee1@b.example'}`.execute(db);
      intact();
      expect(found('ant1x')).toEqual(['ant1x@a.example']);
      expect(found('moved')).toEqual(['bee1@b.example']);
    }

    // Unique where present; any number of rows without.
    const dup = async (extra: Record<string, unknown>) =>
      insertOutcome(
        db
          .insertInto('recipients')
          .values(row(a, `dup${Math.random()}@a.example`, extra))
          .execute(),
      );
    expect(await dup({ token_hash: 'hash-1' })).toBe('refused');
    expect(await dup({ certificate_id: 'cert-1' })).toBe('refused');
    expect(await dup({})).toBe('stored');
    expect(await dup({})).toBe('stored');
    // Partial: an imported row (both NULL) has no entry in them; a lookup by value uses them.
    for (const col of ['token_hash', 'certificate_id']) {
      const def =
        dialect === 'sqlite'
          ? (await sql<{ d: string }>`SELECT sql AS d FROM sqlite_master WHERE name = ${`recipients_${col}`}`.execute(db)).rows[0]!.d
          : (await sql<{ d: string }>`SELECT indexdef AS d FROM pg_indexes WHERE indexname = ${`recipients_${col}`}`.execute(db)).rows[0]!
              .d;
      expect(def).toMatch(/UNIQUE/i);
      expect(def).toMatch(/WHERE.*IS NOT NULL/i);
    }
    const repo = createRecipientsRepo(handle);
    expect((await repo.findByCertificateId('cert-1'))?.email).toBe('bee2@b.example');
    expect([...(await repo.takenTokenHashes(['hash-1', 'hash-2']))]).toEqual(['hash-1']);
    if (dialect === 'sqlite') {
      const plan = handle.sqlite!.prepare(`EXPLAIN QUERY PLAN SELECT id FROM recipients WHERE token_hash = ?`).all('x') as {
        detail: string;
      }[];
      expect(plan.map((p) => p.detail).join()).toContain('recipients_token_hash');
    }
    if (!s) return;
    // Rows added since (the two `dup` rows stored) wait above the watermark.
    const waiting = (s.prepare('SELECT COUNT(*) AS n FROM recipients WHERE id > ?').get(mark()) as { n: number }).n;
    expect(waiting).toBe(2);
    expect(found('dup')).toEqual([]);
    // An edit of a row not yet indexed leaves the table alone; the indexer then takes it as it is.
    await sql`UPDATE recipients SET name = ${'late name'} WHERE id = (SELECT MAX(id) FROM recipients)`.execute(db);
    expect(await searchIndexerFor(handle)!.drain()).toBe(2);
    expect(mark()).toBe(Number((s.prepare('SELECT MAX(id) AS n FROM recipients').get() as { n: number }).n));
    intact();
    expect(found('late name')).toHaveLength(1);
    expect(found('dup')).toHaveLength(2);
  });
});
