/**
 * Importing an official account's keyword rules (`POST /api/v2/autoreply/import`, at most 5,000
 * per request, all or nothing) on SQLite and PostgreSQL: the time the organizer waits, and the
 * floor of the same run: one multi-row INSERT of the same number of rows into a scratch table of
 * the same database (what writing the rows costs without any per-rule work).
 *
 *   npm run bench -- rules-import      (RULES_BENCH_N=5000)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { report, startBenchWechat, writeResults } from './lib.js';
import { createMigratedTestDatabase, type TestDialect } from '../test/helpers/db.js';

const N = Number(process.env.RULES_BENCH_N ?? 5000);

const inputs = Array.from({ length: N }, (_, i) => ({
  keywords:
    i % 3 === 0
      ? [
          { text: `kw${i}`, match: 'equal' as const },
          { text: `词${i}号`, match: 'contains' as const },
        ]
      : [{ text: `kw${i}`, match: 'equal' as const }],
  replies: [`回复 ${i}：感谢您的留言，我们会尽快处理。`],
  mode: 'all' as const,
}));

async function one(dialect: TestDialect) {
  const dataDir = mkdtempSync(join(tmpdir(), 'vh-rules-bench-'));
  const database = await createMigratedTestDatabase(dialect, dataDir);
  const wechat = await startBenchWechat();
  const { parseConfig } = await import('../src/config.js');
  const { createAppCore } = await import('../src/app.js');
  const { createAutoreply } = await import('../src/modules/autoreply/index.js');
  const { createAccountsService } = await import('../src/modules/accounts/index.js');
  const config = parseConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    PORT: '0',
    PUBLIC_URL: 'http://bench.test',
    WECHAT_API_BASE: wechat.url,
    DATABASE_URL: database.config.dialect === 'postgres' ? database.config.url : database.config.file,
  });
  const core = await createAppCore(config);
  try {
    const ar = createAutoreply(core);
    const owner = await createAccountsService({ db: core.db, dialect: core.dialect, now: Date.now }).createUser({
      username: 'bench_owner',
      password: 'correct horse battery',
      isActive: true,
    });
    const view = await ar.mpAccounts.create(owner.id, {
      appid: 'wxbenchimport0001',
      secret: 'benchsecret0000000000001',
      token: 'tok',
      aes_key: null,
    });
    const setId = await ar.mpAccounts.ruleSetOf(owner.id, view.id);
    const times: number[] = [];
    const floors: number[] = [];
    await sql`CREATE TABLE bench_floor (a integer, b text, c text)`.execute(core.db);
    for (let run = 0; run < 3; run++) {
      let t0 = performance.now();
      await ar.rules.importRules(setId, inputs, true);
      times.push(performance.now() - t0);
      // The floor: the same number of rows (rules + keywords + replies), plain multi-row inserts in one transaction.
      const rows = inputs.flatMap((r, i) => [
        { a: i, b: r.replies[0], c: 'r' },
        ...r.keywords.map((k) => ({ a: i, b: k.text, c: 'k' })),
        { a: i, b: r.replies[0], c: 'p' },
      ]);
      t0 = performance.now();
      await core.db.transaction().execute(async (trx) => {
        await sql`DELETE FROM bench_floor`.execute(trx);
        for (let i = 0; i < rows.length; i += 500) {
          await trx
            .insertInto('bench_floor' as never)
            .values(rows.slice(i, i + 500) as never)
            .execute();
        }
      });
      floors.push(performance.now() - t0);
    }
    const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    return { ms: Math.round(med(times)), floorMs: Math.round(med(floors)), ratio: +(med(times) / med(floors)).toFixed(1) };
  } finally {
    await core.close();
    await wechat.close();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const results: Record<string, unknown> = { rules: N };
for (const d of ['sqlite', 'postgres'] as const) {
  report(results, `${d}_import_ms_vs_floor`, await one(d));
}
writeResults('rules-import', results);
