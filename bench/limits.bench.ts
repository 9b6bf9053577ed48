/**
 * The cost of the database-backed attempt limits (platform/limits/attempts.ts) against a floor
 * measured in the same run on the same connection: a one-row primary-key read through Kysely.
 * - one window key reserved (one conditional upsert, autocommit): the claim-link miss, getOpenid;
 * - three keys reserved all-or-none in one transaction, then settled in one statement (a
 *   successful sign-in's bookkeeping around argon2);
 * - a used-up window checked without counting (a known claim link: `exhausted`).
 * On SQLite (a file, WAL) and, when TEST_PG_URL's server answers, PostgreSQL. Sequential, one
 * caller: per-operation cost, not throughput under contention.
 *
 *   npm run bench -- limits       (LIMITS_BENCH_N=5000)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createTestDatabase, type TestDialect } from '../test/helpers/db.js';
import { openDatabase } from '../src/platform/db/index.js';
import { migrateToLatest } from '../src/platform/db/migrate.js';
import { backoffRule, createAttemptLimiter, windowRule } from '../src/platform/limits/attempts.js';
import { report, writeResults } from './lib.js';

const N = Number(process.env.LIMITS_BENCH_N ?? 5000);
const results: Record<string, unknown> = {};

async function time(n: number, f: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(200, n); i++) await f(i);
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await f(i);
  return Number(process.hrtime.bigint() - t) / 1e3 / n;
}

async function run(dialect: TestDialect): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vh-limits-bench-'));
  const database = await createTestDatabase(dialect, dir);
  const h = openDatabase(database.config);
  try {
    await migrateToLatest(h.db);
    const limiter = createAttemptLimiter({ db: h.db, now: Date.now });
    await limiter.reserve([windowRule('floor-row', 1_000_000_000, 3600_000)]);
    const floor = await time(N, () => sql`SELECT count FROM attempt_counters WHERE key = ${'floor-row'}`.execute(h.db));
    const one = await time(N, (i) => limiter.reserve([windowRule(`claim:client:10.0.${i % 250}.${i % 7}`, 1_000_000_000, 60_000)]));
    const signIn = await time(Math.floor(N / 4), async (i) => {
      const id = `user:${i % 100}`;
      const client = `10.1.${i % 250}.1`;
      await limiter.reserve([
        windowRule(`signin:${id}|${client}`, 10, 900_000),
        backoffRule(`signin:${id}`, { free: 20, baseMs: 1000, maxMs: 900_000, forgetMs: 86_400_000 }),
        windowRule(`signin:client:${client}`, 1_000_000_000, 900_000),
      ]);
      await limiter.settle({ reset: [`signin:${id}|${client}`], refund: [`signin:${id}`, `signin:client:${client}`] });
    });
    const peek = await time(N, () => limiter.exhausted(windowRule('floor-row', 1_000_000_000, 3600_000)));
    const r = {
      floor_pk_read_us: Number(floor.toFixed(1)),
      reserve_one_key_us: Number(one.toFixed(1)),
      reserve_one_key_x_floor: Number((one / floor).toFixed(2)),
      sign_in_bookkeeping_us: Number(signIn.toFixed(1)),
      sign_in_bookkeeping_x_floor: Number((signIn / floor).toFixed(2)),
      known_link_check_us: Number(peek.toFixed(1)),
      known_link_check_x_floor: Number((peek / floor).toFixed(2)),
    };
    report(results, dialect, r);
  } finally {
    await h.close();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await run('sqlite');
try {
  await run('postgres');
} catch (err) {
  process.stdout.write(`postgres skipped: ${(err as Error).message}\n`);
}
writeResults('limits', results);
