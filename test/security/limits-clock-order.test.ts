/**
 * CI flake (bounces.test.ts, two instances on PostgreSQL): a right admin token answered 429
 * "too many wrong admin tokens" with nowhere near 20 attempts. Each reservation reads the clock
 * before its statement runs, so with requests in parallel (or instances whose clocks differ by a
 * millisecond) an upsert stamped t can run after one stamped t + 1. The backoff rule set
 * `next_at = t + 0` while attempts were free, and the earlier-stamped one then found
 * `next_at <= t` false: refused, though no wait was due. A free attempt must not set a wait.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { limitsCore } from './limits-core.js';
import { backoffRule, createAttemptLimiter, windowRule } from '../../src/platform/limits/attempts.js';

describe.each(testDialects())('attempt limits with reservations out of clock order (%s)', (dialect) => {
  const c = limitsCore(dialect);

  it('a free attempt stamped a millisecond earlier than the last one is still free', async () => {
    let t = 1_000_000;
    const limiter = createAttemptLimiter({ db: c.core.db, now: () => t });
    const rules = [
      windowRule('owner|client-a', 10, 60_000),
      backoffRule('owner', { free: 5, baseMs: 1000, maxMs: 60_000, forgetMs: 3600_000 }),
    ];
    expect(await limiter.reserve(rules)).toEqual({ ok: true });
    t -= 1;
    expect(await limiter.reserve(rules)).toEqual({ ok: true });
    t -= 1;
    expect(await limiter.reserve(rules)).toEqual({ ok: true });
  });

  it('the waits still come once the free attempts are spent, and a later clock passes them', async () => {
    let t = 2_000_000;
    const limiter = createAttemptLimiter({ db: c.core.db, now: () => t });
    const rule = backoffRule('owner-2', { free: 2, baseMs: 1000, maxMs: 60_000, forgetMs: 3600_000 });
    expect(await limiter.reserve([rule])).toEqual({ ok: true });
    expect(await limiter.reserve([rule])).toEqual({ ok: true });
    // The third attempt is allowed and sets the first wait (1 s) for the fourth.
    expect(await limiter.reserve([rule])).toEqual({ ok: true });
    expect(await limiter.reserve([rule])).toEqual({ ok: false, retryAfterMs: 1000 });
    t += 1000;
    expect(await limiter.reserve([rule])).toEqual({ ok: true });
    expect(await limiter.reserve([rule])).toEqual({ ok: false, retryAfterMs: 2000 });
  });

  it('many right tokens at once from two instances all get in', async () => {
    // Each instance's limiter over the same database; the clocks differ by a few milliseconds.
    const a = createAttemptLimiter({ db: c.core.db, now: () => Date.now() + 3 });
    const b = createAttemptLimiter({ db: c.core.db, now: () => Date.now() - 3 });
    const rules = (i: number) => [
      windowRule(`admin|client-${i % 4}`, 10, 60_000),
      backoffRule('admin-fleet', { free: 20, baseMs: 1000, maxMs: 60_000, forgetMs: 3600_000 }),
    ];
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const l = i % 2 ? a : b;
          const r = await l.reserve(rules(i));
          if (r.ok) await l.settle({ reset: [`admin|client-${i % 4}`], refund: ['admin-fleet'] });
          return r;
        }),
      );
      expect(answers.filter((r) => !r.ok)).toEqual([]);
    }
  });
});

/**
 * The sweep is a give-back's twin: one DELETE over many rows, locking them in whatever order it
 * meets them. Against a reservation transaction holding one expired key and reaching for another,
 * it deadlocked (PostgreSQL aborts one of the two: a sign-in or admin check could answer 500).
 * Forced here: the transaction holds `sweep-b`, the sweep takes `sweep-a` and waits for `sweep-b`,
 * the transaction then reaches for `sweep-a`.
 */
describe.each(testDialects().filter((d) => d === 'postgres'))('the attempt sweep beside a reservation (%s)', (dialect) => {
  const c = limitsCore(dialect);

  it('deletes the expired counters it can take and waits for none', async () => {
    const db = c.core.db;
    const limiter = createAttemptLimiter({ db, now: () => 10_000 });
    await sql`INSERT INTO attempt_counters (key, count, reset_at, next_at) VALUES ('sweep-a', 1, 1, 0), ('sweep-b', 1, 1, 0)`.execute(db);
    let swept: Promise<number> | undefined;
    await db.transaction().execute(async (trx) => {
      await sql`UPDATE attempt_counters SET count = count + 1 WHERE key = 'sweep-b'`.execute(trx);
      swept = limiter.sweep();
      // Give the sweep time to lock what it can and wait for the rest (the deadlock needs both).
      await new Promise((r) => setTimeout(r, 300));
      await sql`UPDATE attempt_counters SET count = count + 1 WHERE key = 'sweep-a'`.execute(trx);
    });
    await expect(swept).resolves.toBeGreaterThanOrEqual(0);
  });
});
