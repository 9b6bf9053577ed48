/**
 * A campaign has at most one live plan job and one live batch job per id bucket ("live" includes
 * running), so a request for either is dropped while one runs. The lost wake-up this forces: a
 * plan reads the buckets still to mail before volunteers added while sending are committed; the
 * last batch then ends, sees them and asks for a plan (dropped: the plan still runs), and the plan
 * had re-queued that batch's bucket while the batch still ran (dropped too). Nobody planned the
 * later volunteers: the campaign stayed `sending` and they were never mailed (until a restart).
 * Here the interleaving is forced: every send is held (the batch stays live), and the plan is held
 * just after it re-queued the batch, while the later volunteers are added and the batch ends.
 */
import { sql } from 'kysely';
import { describe, expect, it, vi } from 'vitest';
import { BATCH_KIND, SEND_KIND } from '../../src/modules/certificates/sending.js';
import { testDialects } from '../helpers/db.js';
import { ADMIN, mailingApp, seedPost, waitFor } from './helpers.js';

/** A promise with its resolve, for holding a step until the test lets it go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe.each(testDialects())('certificates: no lost wake-up between a plan and the last batch on %s', (dialect) => {
  const m = mailingApp(dialect);

  it('mails volunteers added while a running plan and the last batch each drop the other one', async () => {
    const { app: a, smtp } = m;
    const early = Array.from({ length: 5 }, (_, i) => `early${i}@example.org`);
    // Ids between the early and the later volunteers, never mailed (marked failed), so that the
    // later ones fall in another bucket (BATCH_WIDTH 100) than the running batch's.
    const filler = Array.from({ length: 150 }, (_, i) => `filler${i}@example.org`);
    const later = Array.from({ length: 5 }, (_, i) => `later${i}@example.org`);
    await seedPost(a, '/api/addUserData', { token: ADMIN, email: early });
    await seedPost(a, '/api/addUserData', { token: ADMIN, email: filler });
    await a.core.db.updateTable('recipients').set({ failure: 'filler' }).where('email', 'like', 'filler%').execute();

    // Every send waits for `sends`: the first batch stays live (running) meanwhile.
    const sends = gate();
    const sendStarted = gate();
    const mailer = a.core.mailer;
    const realSend = mailer.send.bind(mailer);
    vi.spyOn(mailer, 'send').mockImplementation(async (...args) => {
      sendStarted.open();
      await sends.opened;
      return realSend(...args);
    });
    // Armed later: the next plan to re-queue a batch is held right after it did (still running).
    let armed = false;
    const planHeld = gate();
    const releasePlan = gate();
    const batchAskedPlan = gate();
    const jobs = a.core.jobs;
    const realEnqueue = jobs.enqueue.bind(jobs);
    vi.spyOn(jobs, 'enqueue').mockImplementation(async (kind, payload, opts) => {
      await realEnqueue(kind, payload, opts);
      if (kind === BATCH_KIND && armed) {
        armed = false;
        planHeld.open();
        await releasePlan.opened;
      }
      // A batch's end asks for a plan later (sending.ts finishIfDone).
      if (kind === SEND_KIND && opts?.runAt !== undefined) batchAskedPlan.open();
    });

    await seedPost(a, '/api/email', { token: ADMIN, action: 'send' });
    await sendStarted.opened;
    // A plan runs now (a second "send"), reads the early volunteers' bucket and re-queues it: the
    // batch is live, so that is a no-op. It is held there, still running.
    armed = true;
    await seedPost(a, '/api/email', { token: ADMIN, action: 'send' });
    await planHeld.opened;
    // The later volunteers are committed after the plan read the buckets.
    expect((await seedPost(a, '/api/addUserData', { token: ADMIN, email: later })).body.data.added).toBe(5);
    // The batch mails the early ones, finds its bucket empty, sees the later ones and asks for a
    // plan: a no-op while the held plan runs.
    sends.open();
    await batchAskedPlan.opened;
    releasePlan.open();

    await waitFor(
      async () => (await seedPost(a, '/api/email', { token: ADMIN, action: 'query' })).body.data.sending === false,
      20_000,
      'sending to finish',
    );
    const to = smtp.received.flatMap((m) => m.to).sort();
    expect(to).toEqual([...early, ...later].sort());
  }, 40_000);
});

/**
 * The other window: a batch's end (or the plan) found nothing to mail and sets the campaign idle;
 * volunteers committed in between were left unsent under an idle campaign. Setting idle now looks
 * once more. PostgreSQL only: the test holds the campaign's row lock so that the UPDATE to idle
 * waits (after the look that found nothing) while the later volunteers are committed.
 */
describe.each(testDialects().filter((d) => d === 'postgres'))(
  'certificates: no volunteer left behind by the idle step on %s',
  (dialect) => {
    const m = mailingApp(dialect);

    it('mails volunteers committed between the last look and the campaign going idle', async () => {
      const { app: a, smtp } = m;
      const early = Array.from({ length: 3 }, (_, i) => `early${i}@example.org`);
      const later = Array.from({ length: 3 }, (_, i) => `later${i}@example.org`);
      await seedPost(a, '/api/addUserData', { token: ADMIN, email: early });
      // The notices wait until the test holds the campaign's row lock (FOR NO KEY UPDATE: foreign
      // keys to it still work; taken after `send`, which writes that row): the batch then mails
      // them, finds nothing more, and its UPDATE to idle waits.
      const release = gate();
      const locked = gate();
      const mailer = a.core.mailer;
      const realSend = mailer.send.bind(mailer);
      vi.spyOn(mailer, 'send').mockImplementation(async (...args) => {
        await locked.opened;
        return realSend(...args);
      });
      await seedPost(a, '/api/email', { token: ADMIN, action: 'send' });
      const holder = a.core.db.transaction().execute(async (trx) => {
        await sql`select id from campaigns for no key update`.execute(trx);
        locked.open();
        await release.opened;
      });
      await locked.opened;
      // On a failure, the lock is let go, so that closing the app does not wait for it.
      await waitFor(() => smtp.received.length === 3 || undefined, 8_000, 'the early notices').catch((e: unknown) => {
        release.open();
        throw e;
      });
      // Some UPDATE of campaigns to idle waits for the lock: it follows a look that found nothing.
      await waitFor(
        async () => {
          const r = await sql<{ n: string }>`select count(*) as n from pg_stat_activity
          where wait_event_type = 'Lock' and query like 'update "campaigns" set "sending"%'`.execute(a.core.db);
          return Number(r.rows[0].n) > 0 || undefined;
        },
        20_000,
        'the idle update to wait',
      );
      expect((await seedPost(a, '/api/addUserData', { token: ADMIN, email: later })).body.data.added).toBe(3);
      release.open();
      await holder;
      await waitFor(() => smtp.received.length === 6 || undefined, 20_000, 'the later notices');
      await waitFor(
        async () => (await seedPost(a, '/api/email', { token: ADMIN, action: 'query' })).body.data.sending === false,
        20_000,
        'sending to finish',
      );
      const to = smtp.received.flatMap((m) => m.to).sort();
      expect(to).toEqual([...early, ...later].sort());
    }, 60_000);
  },
);
