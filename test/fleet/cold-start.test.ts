/**
 * Issue 11, item 5: three instances started together on an empty PostgreSQL database all come up
 * (migrations and the job store's setup run under an advisory lock; the others wait), every time.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/db.js';
import { startInstance, type Instance } from '../helpers/instance.js';

const ROUNDS = Number(process.env.TEST_COLD_START_ROUNDS ?? 3);
const live: Instance[] = [];

afterAll(async () => {
  await Promise.all(live.map((i) => i.stop('SIGKILL')));
});

describe('cold start of a fleet (issue 11.5)', { timeout: 600_000 }, () => {
  for (let round = 1; round <= ROUNDS; round++) {
    it(`round ${round}: three instances at once on a fresh database all come up`, async () => {
      const db = await createTestDatabase('postgres', '/tmp');
      if (db.config.dialect !== 'postgres') throw new Error('unreachable');
      try {
        const fleet = await Promise.all(
          [1, 2, 3].map(() => startInstance({ DATABASE_URL: db.config.dialect === 'postgres' ? db.config.url : '' })),
        );
        live.push(...fleet);
        const results = await Promise.allSettled(fleet.map((i) => i.waitHealthy(180_000)));
        const failed = results.flatMap((r, n) =>
          r.status === 'rejected' ? [`instance ${n + 1}: ${String(r.reason).slice(0, 3000)}`] : [],
        );
        expect(failed).toEqual([]);
        for (const i of fleet) expect(i.exitCode()).toBeUndefined();
        // Each serves a database-backed request.
        for (const i of fleet) {
          const r = await fetch(`${i.url}/api/v2/certificates/campaigns`, {
            headers: { authorization: 'Bearer kQ7v-Yb2Lr9xW3nT5sFh8mJd-2Vw' },
          });
          expect(r.status).toBe(200);
        }
        await Promise.all(fleet.map((i) => i.stop('SIGKILL')));
      } finally {
        await db.drop();
      }
    });
  }
});
