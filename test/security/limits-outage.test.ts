/**
 * Issue 11 item 1 with issue 10 item 4: a database blip between an attempt's reservation and its
 * give-back must not count the rightful owner's success as a failure. Before, a settle that failed
 * (a terminated connection) left the attempt counted, so an outage under load locked the organizer
 * out with their right token. Now the give-back is retried in the background until it lands.
 */
import { describe, expect, it, vi } from 'vitest';
import type { KyselyPlugin } from 'kysely';
import { testDialects } from '../helpers/db.js';
import { limitsCore } from './limits-core.js';
import { createAttemptLimiter, windowRule } from '../../src/platform/limits/attempts.js';

describe.each(testDialects())('attempt give-backs survive a database blip (%s)', (dialect) => {
  const t = limitsCore(dialect);
  const outage = { on: false };

  it("a right answer's settle that fails during a blip lands later; the owner is not locked out", async () => {
    // Fails every give-back statement while `outage.on`, as a terminated connection would.
    const blip: KyselyPlugin = {
      transformQuery(a) {
        if (outage.on && JSON.stringify(a.node).includes('UPDATE attempt_counters SET count'))
          throw new Error('Connection terminated unexpectedly');
        return a.node;
      },
      transformResult: async (a) => a.result,
    };
    const limiter = createAttemptLimiter({ db: t.core.db.withPlugin(blip), now: Date.now });
    const rule = windowRule('owner|client-1', 10, 15 * 60_000);
    outage.on = true;
    for (let i = 0; i < 10; i++) {
      expect(await limiter.reserve([rule])).toEqual({ ok: true });
      // The right answer: its bookkeeping must not fail the request.
      await expect(limiter.settle({ reset: [rule.key], refund: [] })).resolves.toBeUndefined();
    }
    outage.on = false;
    // The retried give-backs land: the owner's next attempt is allowed.
    await vi.waitFor(async () => expect(await limiter.exhausted(rule)).toBe(0), { timeout: 15_000, interval: 200 });
    expect(await limiter.reserve([rule])).toEqual({ ok: true });
  });
});
