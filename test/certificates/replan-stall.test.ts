/**
 * CI at load 20-30 (lost-wakeup.test.ts on PostgreSQL timed out twice): the replan after a batch's
 * end waited ten times the last plan's wall time, so a plan slowed by anything but its own work (a
 * loaded machine, a lock wait, a long event-loop turn of an import beside it) put off the
 * volunteers added while sending by ten times that stall, up to a minute, however few notices
 * there were. Here the plan's enqueue stalls 2.5 s once (25 s of replan delay before the fix);
 * the volunteers added meanwhile, in another bucket, must still be mailed within seconds.
 */
import { describe, expect, it, vi } from 'vitest';
import { BATCH_KIND } from '../../src/modules/certificates/sending.js';
import { testDialects } from '../helpers/db.js';
import { ADMIN, mailingApp, seedPost, waitFor } from './helpers.js';

describe.each(testDialects())('certificates: a stalled plan does not put off later volunteers on %s', (dialect) => {
  const m = mailingApp(dialect);

  it('mails volunteers added while sending within seconds of the batch ending, after a 2.5 s stall', async () => {
    const { app: a, smtp } = m;
    const early = Array.from({ length: 3 }, (_, i) => `early${i}@example.org`);
    // Never mailed (marked failed): the later volunteers get ids in another bucket (BATCH_WIDTH 100).
    const filler = Array.from({ length: 150 }, (_, i) => `filler${i}@example.org`);
    const later = Array.from({ length: 3 }, (_, i) => `later${i}@example.org`);
    await seedPost(a, '/api/addUserData', { token: ADMIN, email: early });
    await seedPost(a, '/api/addUserData', { token: ADMIN, email: filler });
    await a.core.db.updateTable('recipients').set({ failure: 'filler' }).where('email', 'like', 'filler%').execute();

    let releaseSends!: () => void;
    const sends = new Promise<void>((r) => (releaseSends = r));
    const mailer = a.core.mailer;
    const realSend = mailer.send.bind(mailer);
    vi.spyOn(mailer, 'send').mockImplementation(async (...args) => {
      await sends;
      return realSend(...args);
    });
    // The first plan's enqueue of a batch stalls once, as on a machine at load 30.
    let stalled = false;
    let stallOver = false;
    const jobs = a.core.jobs;
    const realEnqueue = jobs.enqueue.bind(jobs);
    vi.spyOn(jobs, 'enqueue').mockImplementation(async (kind, payload, opts) => {
      if (kind === BATCH_KIND && !stalled) {
        stalled = true;
        await new Promise((r) => setTimeout(r, 2500));
        stallOver = true;
      }
      return realEnqueue(kind, payload, opts);
    });

    await seedPost(a, '/api/email', { token: ADMIN, action: 'send' });
    // The plan is done (its stall over) and its batch is holding the early notices.
    await waitFor(() => stallOver || undefined, 10_000, 'the plan to stall');
    await new Promise((r) => setTimeout(r, 500));
    expect((await seedPost(a, '/api/addUserData', { token: ADMIN, email: later })).body.data.added).toBe(3);
    const released = Date.now();
    releaseSends();
    await waitFor(() => smtp.received.length === 6 || undefined, 20_000, 'the later notices');
    const waited = Date.now() - released;
    expect(smtp.received.flatMap((x) => x.to).sort()).toEqual([...early, ...later].sort());
    // The replan's floor is 1 s; before the fix the later ones waited ten times the stall (25 s).
    expect(waited).toBeLessThan(10_000);
  }, 60_000);
});
