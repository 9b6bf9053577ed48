/**
 * CI flake (bounces.test.ts, two instances on PostgreSQL): a right admin token answered 429
 * "too many wrong admin tokens" with nowhere near 20 attempts. Each reservation reads the clock
 * before its statement runs, so with requests in parallel (or instances whose clocks differ by a
 * millisecond) an upsert stamped t can run after one stamped t + 1. The backoff rule set
 * `next_at = t + 0` while attempts were free, and the earlier-stamped one then found
 * `next_at <= t` false: refused, though no wait was due. A free attempt must not set a wait.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigratedTestDatabase, testDialects } from '../helpers/db.js';
import { parseConfig } from '../../src/config.js';
import { createAppCore } from '../../src/app.js';
import type { Core } from '../../src/platform/core.js';
import { backoffRule, createAttemptLimiter, windowRule } from '../../src/platform/limits/attempts.js';

describe.each(testDialects())('attempt limits with reservations out of clock order (%s)', (dialect) => {
  let core: Core;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vh-limits-order-'));
    const database = await createMigratedTestDatabase(dialect, dir);
    drop = database.drop;
    const url = database.config.dialect === 'postgres' ? database.config.url : database.config.file;
    core = await createAppCore(parseConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', PORT: '0', DATABASE_URL: url }));
  });
  afterAll(async () => {
    await core?.close();
    await drop?.();
  });

  it('a free attempt stamped a millisecond earlier than the last one is still free', async () => {
    let t = 1_000_000;
    const limiter = createAttemptLimiter({ db: core.db, now: () => t });
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
    const limiter = createAttemptLimiter({ db: core.db, now: () => t });
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
    const a = createAttemptLimiter({ db: core.db, now: () => Date.now() + 3 });
    const b = createAttemptLimiter({ db: core.db, now: () => Date.now() - 3 });
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
