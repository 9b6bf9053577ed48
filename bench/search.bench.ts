/**
 * Volunteer search at 100,000 volunteers (issue 14 item 5), on SQLite and PostgreSQL.
 * Figures: the median time of the console's search request (a page of 50 and the total) for a
 * name (`王芳`), a number (`WH2026-0500`), a domain that matches a few (`corp-17.cn`) and one that
 * matches every row (`example.org`), as ratios to the floor measured in the same run: the plain
 * indexed lookup of one volunteer by email (the (campaign_id, email) unique index).
 * SQLite also: the import of the volunteers now (rows indexed later, in the background) against
 * the same import with the per-row insert trigger migration 1450 had (same run, fresh database),
 * the search before the indexer reached the rows (a scan of the unindexed ones), and the time the
 * indexer takes to catch up.
 * `npm run bench -- search`; BENCH_DIALECTS=sqlite narrows it; BENCH_SEARCH_N sets the volunteers
 * (default 100,000); BENCH_SEARCH_TRIGGER=0 skips the import with the old trigger.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { parseConfig } from '../src/config.js';
import { createAppCore } from '../src/app.js';
import { createServices } from '../src/modules/certificates/services.js';
import { createTestDatabase, type TestDialect } from '../test/helpers/db.js';
import { report, writeResults } from './lib.js';

const N = Number(process.env.BENCH_SEARCH_N ?? 100_000);
const RUNS = 15;
const results: Record<string, unknown> = { volunteers: N };
const FAMILY = ['王', '李', '张', '刘', '陈', '杨', '赵', '黄'];
const GIVEN = ['芳', '伟', '娜', '敏', '静', '丽', '强', '磊', '军', '洋'];

async function median(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const QUERIES = [
  ['name', '王芳'],
  ['number', 'WH2026-0500'],
  ['domain_few', 'corp-17.cn'],
  ['domain_all', 'example.org'],
  ['email_prefix', 'v4242@'],
] as const;

function volunteerLines(): string[] {
  const lines: string[] = [];
  for (let i = 0; i < N; i++) {
    const domain = i % 1000 === 17 ? 'corp-17.cn' : 'example.org';
    lines.push(
      `v${i}@${domain},WH2026-${String(i).padStart(6, '0')},${FAMILY[i % 8]}${GIVEN[Math.floor(i / 8) % 10]}${i % 3 ? '' : GIVEN[i % 10]}`,
    );
  }
  return lines;
}

/** SQLite import seconds with the per-row insert trigger of migration 1450 put back (the "before"). */
async function importWithOldTrigger(lines: string[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'vh-bench-search-old-'));
  const database = await createTestDatabase('sqlite', dir);
  const core = await createAppCore(
    parseConfig({
      DATA_DIR: dir,
      LOG_LEVEL: 'warn',
      PORT: '0',
      ADMIN_TOKEN: 'bench-token',
      DATABASE_URL: database.config.dialect === 'postgres' ? database.config.url : database.config.file,
    }),
  );
  try {
    await sql`CREATE TRIGGER recipients_fts_ai AFTER INSERT ON recipients BEGIN
      INSERT INTO recipients_fts(rowid, email, name, number) VALUES (new.id, new.email, new.name, new.number); END`.execute(core.db);
    const svc = createServices(core);
    // The background indexer stays off here: the trigger did its work.
    svc.deps.recipients.searchIndex?.hold();
    const row = await svc.campaign.resolve(
      (await svc.campaign.create({ name: 'Search bench (old trigger)', slug: 'search-bench-old' })).id,
    );
    const t0 = performance.now();
    for (let i = 0; i < N; i += 10_000) await svc.recipients.importLines(row, lines.slice(i, i + 10_000));
    const s = (performance.now() - t0) / 1000;
    await svc.deps.recipients.searchIndex?.stop();
    return s;
  } finally {
    await core.close();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const dialect of (process.env.BENCH_DIALECTS ?? 'sqlite,postgres').split(',') as TestDialect[]) {
  const dir = mkdtempSync(join(tmpdir(), 'vh-bench-search-'));
  const database = await createTestDatabase(dialect, dir);
  const core = await createAppCore(
    parseConfig({
      DATA_DIR: dir,
      LOG_LEVEL: 'warn',
      PORT: '0',
      ADMIN_TOKEN: 'bench-token',
      DATABASE_URL: database.config.dialect === 'postgres' ? database.config.url : database.config.file,
    }),
  );
  try {
    const svc = createServices(core);
    const c = await svc.campaign.create({ name: 'Search bench', slug: 'search-bench' });
    const row = await svc.campaign.resolve(c.id);
    const lines = volunteerLines();
    const searchIndex = svc.deps.recipients.searchIndex;
    // SQLite: the indexer waits until the search of unindexed rows is measured.
    const release = searchIndex?.hold();
    const t0 = performance.now();
    for (let i = 0; i < N; i += 10_000) await svc.recipients.importLines(row, lines.slice(i, i + 10_000));
    const importS = (performance.now() - t0) / 1000;
    report(results, `${dialect}_import_seconds`, Number(importS.toFixed(2)));
    // Statistics as autovacuum would have them after a large import.
    if (dialect === 'postgres') await sql`ANALYZE recipients`.execute(core.db);
    if (process.env.BENCH_KEEP) {
      report(results, `${dialect}_database`, database.config);
      await new Promise((r) => setTimeout(r, Number(process.env.BENCH_KEEP)));
    }
    const floor = await median(() => svc.recipients.findByEmail(row, `v${Math.floor(Math.random() * N)}@example.org`));
    report(results, `${dialect}_floor_lookup_by_email_ms`, Number(floor.toFixed(3)));
    const searches = async (label: string) => {
      for (const [name, q] of QUERIES) {
        let total = 0;
        const ms = await median(async () => {
          total = (await svc.recipients.list(row, { q, page: 1, limit: 50 })).total;
        });
        report(results, `${dialect}_${label}_${name}`, {
          q,
          matches: total,
          medianMs: Number(ms.toFixed(2)),
          ratioToFloor: Number((ms / floor).toFixed(1)),
        });
      }
      const ms = await median(() => svc.recipients.list(row, { page: 1, limit: 50 }));
      report(results, `${dialect}_${label}_list_page1`, { medianMs: Number(ms.toFixed(2)), ratioToFloor: Number((ms / floor).toFixed(1)) });
    };
    if (searchIndex && release) {
      await searches('search_unindexed');
      const t1 = performance.now();
      release();
      // The woken indexer and this drain share the batches; both done means every row is indexed.
      await searchIndex.drain();
      await searchIndex.stop();
      report(results, 'sqlite_background_indexing', { rows: N, seconds: Number(((performance.now() - t1) / 1000).toFixed(2)) });
      if (process.env.BENCH_SEARCH_TRIGGER !== '0') {
        const old = await importWithOldTrigger(lines);
        report(results, 'sqlite_import_with_old_insert_trigger_seconds', Number(old.toFixed(2)));
        report(results, 'sqlite_import_ratio_now_to_old_trigger', Number((importS / old).toFixed(2)));
      }
    }
    await searches('search');
  } finally {
    await core.close();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
writeResults('search', results);
