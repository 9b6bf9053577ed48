/**
 * Mailing the notices, by a fleet: `send` marks the campaign sending and enqueues its planner,
 * which enqueues one short batch job per bucket of BATCH_WIDTH recipient ids still at status 0.
 * Any instance takes any batch (a killed instance's batch is taken up when its lease runs out).
 * For each notice: a link token (32 random bytes; only its SHA-256 kept, plus a sealed copy while
 * the notice is in flight: the "attempting" marker, which with the Message-ID derived from
 * notice_count makes a repeat after a crash carry the same link and the same Message-ID), the
 * notice, then status 1 as soon as the SMTP server accepted it (that write retried, never the send).
 * Connection-level SMTP failures pause the campaign and one batch probes with backoff; only a
 * recipient-level answer fails (5xx) or delays (4xx) a volunteer.
 */
import { randomBytes } from 'node:crypto';
import { hashToken, randomToken } from '../../platform/crypto/tokens.js';
import { holdSize } from '../../platform/heap-mode.js';
import { RetryLater, type JobContext } from '../../platform/jobs/types.js';
import { PermanentMailError, TemporaryMailError, type OutgoingMail } from '../../platform/mail/types.js';
import { composeRaw } from '../../platform/mail/dev-mailbox.js';
import type { CampaignRow } from './campaigns-repo.js';
import type { CampaignService } from './campaign-service.js';
import { messageHost, type CertDeps } from './deps.js';
import { DEFAULT_NOTICE_BODY, DEFAULT_NOTICE_SUBJECT, frameNotice, renderMail } from './mail-templates.js';
import type { RecipientRow } from './recipients-repo.js';
import { certMetrics } from './metrics.js';
import { CertError } from './errors.js';
import type { Deliverability } from './deliverability/service.js';

/** An archived campaign is read-only for mailing: sending would surprise whoever archived it. */
function assertNotArchived(c: CampaignRow): void {
  if (c.archived === 1) throw new CertError(1, 'archived', 'this campaign is archived: unarchive it before sending', 409);
}

/** The campaign's planner: one singleton job that enqueues a batch job per id bucket still to mail. */
export const SEND_KIND = 'certificates.send';
/** One batch of notices (recipient ids in one bucket of BATCH_WIDTH): any instance may take it. */
export const BATCH_KIND = 'certificates.send-batch';
/** Width of a batch's id bucket: at most this many notices per batch job. */
export const BATCH_WIDTH = 100;
/** Bounds of the wait before a batch's end plans the campaign again (see replanDelayMs). */
const REPLAN_MIN_MS = 1000;
const REPLAN_MAX_MS = 60_000;
/**
 * The most a plan's wall time may add to the wait per bucket it planned: the wait stands for the
 * plan's own work, which grows with the notices it reads, and a small plan slowed by anything else
 * (a loaded machine, a lock wait, an import's long turn beside it) must not put off the volunteers
 * added while sending by ten times the stall (test/certificates/replan-stall.test.ts). A plan of a
 * few buckets now waits about 1 s whatever stalled it; one of 10,000 buckets (1,000,000 volunteers
 * to mail) may still wait up to 51 s, its wall time allowing (0.5 ms per bucket planned).
 */
const REPLAN_MS_PER_BUCKET = 5;
/** Notices in flight at once within one batch. */
export const BATCH_CONCURRENCY = 4;
/** Batches of all campaigns run at once per instance (so in flight: 4 x 4 = 16 notices). */
export const BATCHES_PER_INSTANCE = 4;
/** Notices in flight at once per instance. */
export const SEND_CONCURRENCY = BATCH_CONCURRENCY * BATCHES_PER_INSTANCE;
/** Temporary failures per recipient before the notice is marked failed (default; MAIL_RETRY_ATTEMPTS). */
export const NOTICE_MAX_ATTEMPTS = 8;

/** Backoff after the n-th failure: `first`, doubling, at most `max` (MAIL_RETRY_MS, MAIL_RETRY_MAX_MS / MAIL_PROBE_MAX_MS). */
export function retryBackoffMs(attempt: number, first = 1000, max = 15 * 60_000): number {
  return Math.min(first * 2 ** Math.max(0, attempt - 1), max);
}

/** Backoff of a recipient's notice after its n-th temporary failure: 1 s, 2 s, 4 s ... 15 min (the defaults). */
export function noticeBackoffMs(attempt: number): number {
  return retryBackoffMs(attempt);
}

/** This process, as the holder of attempting markers. */
const SENDER_ID = `${process.pid}:${randomBytes(6).toString('hex')}`;
/** How long an attempting marker keeps other instances off a notice (a dead holder's notices wait this long). */
const MARKER_MS = 15_000;
/** Another instance holds the notice's attempting marker. */
class NotMine extends Error {}

const batchKey = (cid: number, bucket: number) => `${BATCH_KIND}:${cid}:${bucket}`;

/** What became of one notice. */
type Outcome = 'sent' | 'settled' | { outage: string } | { quota: RetryLater };

/** Builds the sending service and registers its job. */
export function createSending(deps: CertDeps, campaignsSvc: CampaignService, deliver: Deliverability) {
  const { campaigns, recipients, jobs, mailer, secrets, now, logger } = deps;
  const host = messageHost(deps.config.publicUrl);
  const retry = deps.config.mailRetry ?? { firstMs: 1000, maxMs: 15 * 60_000, attempts: NOTICE_MAX_ATTEMPTS, probeMaxMs: 5 * 60_000 };
  const probeDelay = (n: number) => retryBackoffMs(n, retry.firstMs, retry.probeMaxMs);

  /**
   * How long a batch's end waits before the campaign is planned again: a plan reads every notice
   * still to mail, so planning at every batch's end made a campaign's cost grow with the square of
   * its size (bench/memory.bench.ts at 1,000,000: 22 notices/s and 12.8 ms of CPU each, against
   * 320/s and 1.7 ms at 10,000). The batch ends within the wait fold into one plan (its singleton
   * key); the wait is ten times what the last plan took, at least REPLAN_MIN_MS, at most
   * REPLAN_MS_PER_BUCKET per bucket it planned beyond that.
   */
  let replanDelayMs = REPLAN_MIN_MS;

  /** Plans the campaign's batches now, or `after` ms from now (a plan already waiting is then kept). */
  async function enqueueSend(campaignId: number, after = 0): Promise<void> {
    const key = `${SEND_KIND}:${campaignId}`;
    await jobs.enqueue(SEND_KIND, { campaignId }, { singletonKey: key, runAt: after > 0 ? now() + after : undefined });
    // Now means now: a plan a batch's end left waiting runs at once (the prefix may wake another
    // campaign's waiting plan too, e.g. 12 wakes 120: it only runs sooner).
    if (after === 0) await jobs.wake(SEND_KIND, key);
  }

  function linkFor(c: CampaignRow, token: string): string {
    const base = campaignsSvc.claimBase(c);
    return `${base}${base.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
  }

  function noticeMessageId(r: RecipientRow): string {
    return `<notice.${r.id}.${r.notice_count + 1}@${host}>`;
  }

  /**
   * The notice for one recipient, under a Message-ID stable across retries of the same notice:
   * from the campaign's sender (any SMTP server), Reply-To the organizer, DKIM-signed when the From
   * domain has a key, with one-click unsubscribe headers (RFC 8058).
   */
  async function noticeMail(c: CampaignRow, r: RecipientRow, token: string): Promise<OutgoingMail> {
    const link = linkFor(c, token);
    const m = frameNotice(
      renderMail(c.mail_subject ?? DEFAULT_NOTICE_SUBJECT, c.mail_body ?? DEFAULT_NOTICE_BODY, {
        name: r.name || r.email.split('@')[0],
        email: r.email,
        link,
        organization: c.organization || c.name,
        website: c.website,
        number: r.number,
      }),
      { organization: c.organization || c.name, link, website: c.website, unsubscribeUrl: deliver.unsubscribeUrl(r.id) },
    );
    const smtp = campaignsSvc.smtpFor(c);
    const mail: OutgoingMail & { pacing?: { key: string; ratePerSec?: number; dailyLimit?: number } } = {
      to: r.email,
      ...m,
      messageId: noticeMessageId(r),
      smtp,
      ...(await deliver.identity(c, smtp, r.id)),
      pacing: { key: `campaign:${c.id}`, ratePerSec: c.rate_per_sec ?? undefined, dailyLimit: c.daily_limit ?? undefined },
    };
    return mail;
  }

  /** Gives each row a link token in one statement; reuses the sealed token of a notice cut short. */
  async function prepareTokens(rows: RecipientRow[]): Promise<Map<number, string>> {
    const tokens = new Map<number, string>();
    const writes: [number, string, string][] = [];
    for (const r of rows) {
      if (r.pending_token && r.token_hash) {
        try {
          const old = secrets.open(r.pending_token);
          if (hashToken(old) === r.token_hash) {
            tokens.set(r.id, old);
            continue;
          }
        } catch {
          // A key change makes the old sealed token unreadable: a fresh one follows.
        }
      }
      const token = randomToken(32);
      tokens.set(r.id, token);
      writes.push([r.id, hashToken(token), secrets.seal(token)]);
    }
    await recipients.setPendingTokens(writes, now());
    // Bounces name the notice by its Message-ID: remember them before the notices go out.
    await deliver.repo.recordNotices(
      rows.map((r) => ({ messageId: noticeMessageId(r), recipientId: r.id, campaignId: r.campaign_id })),
      now(),
    );
    return tokens;
  }

  /**
   * Records accepted notices (status 1) at once: the ids accepted within one turn of the event
   * loop share one UPDATE, and the sender waits for it before the next notice. So a crash repeats
   * at most the notices the SMTP server accepted in the last few milliseconds (same Message-ID),
   * instead of a whole batch.
   */
  function createAcks() {
    let ids: number[] = [];
    let written: Promise<void> | undefined;
    return (id: number): Promise<void> => {
      ids.push(id);
      written ??= new Promise<void>((r) => setImmediate(r)).then(() => {
        const batch = ids;
        ids = [];
        written = undefined;
        return recipients.markNoticesSent(batch, now());
      });
      return written;
    };
  }

  /**
   * The SMTP server accepted the notice: write "sent", retrying the bookkeeping (the database may
   * be unreachable for a moment) and never the send. The write is idempotent (it only changes a
   * row still carrying its pending token). Gives up only after a minute, or shortly after the
   * queue was told to stop; the notice then goes once more under the same Message-ID (the rare
   * duplicate at-least-once allows).
   */
  async function recordSent(id: number, ack: (id: number) => Promise<void>, ctx: JobContext): Promise<void> {
    const end = Date.now() + 60_000;
    for (let i = 0; ; i++) {
      try {
        await ack(id);
        return;
      } catch (err) {
        if (Date.now() > end || (ctx.signal.aborted && i >= 3)) throw err;
        logger.warn(
          { err: (err as Error).message, recipient: id },
          'notice accepted, but recording it failed; trying again (the notice is not sent again)',
        );
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** i, 2000)));
      }
    }
  }

  /** Mails one notice and records what became of it. */
  async function sendOne(
    c: CampaignRow,
    r: RecipientRow,
    token: string,
    ack: (id: number) => Promise<void>,
    ctx: JobContext,
  ): Promise<Outcome> {
    try {
      // The attempting marker, written just before the pace's wait and the send: another instance
      // holding this notice (its batch's lease ran out while it still sends) keeps it.
      const claim = async () => {
        if (!(await recipients.claimSend(r.id, SENDER_ID, now() + MARKER_MS, now()))) throw new NotMine();
      };
      await mailer.send(await noticeMail(c, r, token), { beforeSend: claim });
    } catch (err) {
      if (err instanceof NotMine) return 'settled';
      if (err instanceof RetryLater) return { quota: err };
      const reason = (err as Error)?.message ?? String(err);
      // The server, not this volunteer: pause the campaign, fail no one.
      if (err instanceof TemporaryMailError && err.scope === 'connection') return { outage: reason };
      // Not a mail error (the database, for the pace or the quota): the batch job retries.
      if (!(err instanceof TemporaryMailError) && !(err instanceof PermanentMailError)) throw err;
      certMetrics.noticeFailures.inc({ kind: err instanceof PermanentMailError ? 'permanent' : 'temporary' });
      if (err instanceof PermanentMailError) {
        await recipients.markFailed(r.id, reason, now());
      } else {
        const attempts = r.attempts + 1;
        if (attempts >= retry.attempts) await recipients.markFailed(r.id, `${reason} (after ${attempts} attempts)`, now());
        else await recipients.scheduleNoticeRetry(r.id, attempts, now() + retryBackoffMs(attempts, retry.firstMs, retry.maxMs), now());
      }
      return 'settled';
    }
    certMetrics.noticesSent.inc();
    await recordSent(r.id, ack, ctx);
    return 'sent';
  }

  /**
   * Sets the campaign idle, then looks once more: a volunteer committed before the campaign went
   * idle (added between the last look and the update) is seen by that second look, and the
   * campaign goes back to sending with a plan. One committed after it went idle was added to an
   * idle campaign: it waits for the next "send" (counted in "to send").
   */
  async function setIdle(cid: number): Promise<void> {
    if (!(await campaigns.setSending(cid, 'idle', ['sending'], now()))) return;
    if (!(await recipients.anyToSend(cid))) {
      logger.info({ campaign: cid }, 'all notices sent');
      return;
    }
    const c = await campaigns.find(cid);
    if (c && c.archived !== 1 && (await campaigns.setSending(cid, 'sending', ['idle'], now()))) await enqueueSend(cid);
  }

  /**
   * Sets the campaign idle when nothing is left to mail; otherwise plans again, so volunteers
   * added while it was sending get a batch too (buckets with a live batch are left as they are).
   */
  async function finishIfDone(cid: number): Promise<void> {
    if (await recipients.anyToSend(cid)) return enqueueSend(cid, replanDelayMs);
    await setIdle(cid);
  }

  /**
   * The planner: one batch job per bucket of ids still to mail (a live batch of a bucket is kept).
   * It stays live while anything is left to mail (it plans again every replanDelayMs) and ends only
   * when it finds nothing, setting the campaign idle. Ending as soon as it had planned lost
   * volunteers added while sending: a plan that read the buckets before they were committed could
   * run while the last batch ended; the batch's request for a plan was a no-op (the plan was live),
   * and so was the plan's re-queue of the batch's bucket (the batch was live). Nobody planned them,
   * and the campaign stayed sending (test/certificates/lost-wakeup.test.ts).
   */
  async function runPlan(payload: { campaignId: number }): Promise<void> {
    const cid = payload.campaignId;
    const c = await campaigns.find(cid);
    if (!c || c.sending !== 'sending') return;
    const t0 = performance.now();
    const buckets = await recipients.noticeBuckets(cid, BATCH_WIDTH);
    if (buckets.length === 0) return setIdle(cid);
    for (const b of buckets) await jobs.enqueue(BATCH_KIND, { campaignId: cid, bucket: b }, { singletonKey: batchKey(cid, b) });
    const cap = Math.min(REPLAN_MAX_MS, REPLAN_MIN_MS + REPLAN_MS_PER_BUCKET * buckets.length);
    replanDelayMs = Math.min(cap, Math.max(REPLAN_MIN_MS, 10 * (performance.now() - t0)));
    throw new RetryLater('notices still to mail: planning again', replanDelayMs);
  }

  /** The outage is over: the campaign's waiting batches run now, on every instance. */
  async function endOutage(cid: number): Promise<void> {
    await campaigns.endOutage(cid);
    await jobs.wake(BATCH_KIND, `${BATCH_KIND}:${cid}:`);
    logger.info({ campaign: cid }, 'the SMTP server answers again; sending resumes');
  }

  /** One batch: mails its bucket's due notices, then waits (RetryLater) for retries, pauses and outages. */
  async function runBatch(payload: { campaignId: number; bucket: number }, ctx: JobContext): Promise<void> {
    const cid = payload.campaignId;
    const lo = payload.bucket * BATCH_WIDTH;
    const hi = lo + BATCH_WIDTH;
    const stopping = () => ctx.signal.aborted || ctx.stopping.aborted;
    const ack = createAcks();
    for (;;) {
      if (stopping()) throw new RetryLater('the queue is stopping', 0);
      const c = await campaigns.find(cid);
      if (!c || c.sending !== 'sending') return;
      const t = now();
      if (c.paused_until !== null && c.paused_until > t)
        throw new RetryLater(c.pause_reason ?? 'the mail quota is used up', c.paused_until - t);
      const rows = await recipients.noticesInRange(cid, lo, hi);
      if (rows.length === 0) return finishIfDone(cid);
      const heldElsewhere = (r: RecipientRow) => r.sending_until !== null && r.sending_until > t && r.sending_by !== SENDER_ID;
      const due = rows.filter((r) => (r.retry_at === null || r.retry_at <= t) && !heldElsewhere(r));
      if (due.length === 0) {
        const next = Math.min(...rows.map((r) => Math.max(r.retry_at ?? t, heldElsewhere(r) ? r.sending_until! : t)));
        throw new RetryLater('waiting for notices to retry', Math.max(50, next - t));
      }
      if (c.pause_reason !== null) {
        // An outage was seen and its probe is due: one batch of the fleet probes with one notice.
        if (!(await campaigns.claimProbe(cid, c.paused_until ?? 0, t + probeDelay(c.outage_probes + 1)))) continue;
        const r = due[0];
        const tokens = await prepareTokens([r]);
        const out = await sendOne(c, r, tokens.get(r.id)!, ack, ctx);
        if (typeof out === 'object' && 'outage' in out) {
          await campaigns.setPauseReason(cid, out.outage);
          logger.warn({ campaign: cid, probe: c.outage_probes + 1, err: out.outage }, 'the SMTP server still fails; probing again later');
          continue;
        }
        await endOutage(cid);
        continue;
      }
      const tokens = await prepareTokens(due);
      let next = 0;
      let halt: Outcome | undefined;
      let failure: Error | undefined;
      const worker = async () => {
        while (!halt && failure === undefined && !stopping() && next < due.length) {
          const r = due[next++];
          try {
            const out = await sendOne(c, r, tokens.get(r.id)!, ack, ctx);
            if (typeof out === 'object') halt ??= out;
          } catch (err) {
            failure ??= err instanceof Error ? err : new Error(String(err));
          }
        }
      };
      // Every worker settles before the batch ends: a worker still sending after the job went back
      // to the queue would send beside the instance that takes it up next (duplicates).
      await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, due.length) }, worker));
      if (failure !== undefined) throw failure;
      if (halt && typeof halt === 'object' && 'outage' in halt) {
        if (await campaigns.startOutage(cid, halt.outage, now() + probeDelay(1))) {
          logger.warn({ campaign: cid, err: halt.outage }, 'the SMTP server fails: the campaign waits and probes it');
        }
        continue;
      }
      if (halt && typeof halt === 'object' && 'quota' in halt) {
        await campaigns.update(cid, { paused_until: now() + halt.quota.delayMs });
        throw new RetryLater(`mail quota reached: ${halt.quota.message}`, halt.quota.delayMs);
      }
    }
  }

  jobs.define<{ campaignId: number }>(SEND_KIND, {
    handler: runPlan,
    concurrency: 1,
    maxAttempts: 1000,
    backoffMs: (n) => retryBackoffMs(n, 500, 30_000),
  });
  jobs.define<{ campaignId: number; bucket: number }>(BATCH_KIND, {
    // The heap under --optimize-for-size while a batch sends, even amid claims (issue 15's send
    // peak; heap-mode.ts).
    handler: async (payload, ctx) => {
      const release = holdSize();
      try {
        await runBatch(payload, ctx);
      } finally {
        release();
      }
    },
    concurrency: BATCHES_PER_INSTANCE,
    // Errors here are the database's (a mail error is settled per recipient): keep trying.
    maxAttempts: 1000,
    backoffMs: (n) => retryBackoffMs(n, 500, 30_000),
  });

  /** The link a volunteer holds (sealed in link_sealed, or in flight), if it still opens their page. */
  function heldLink(r: RecipientRow): string | undefined {
    for (const sealed of [r.link_sealed, r.pending_token]) {
      if (!sealed || !r.token_hash) continue;
      try {
        const t = secrets.open(sealed);
        if (hashToken(t) === r.token_hash) return t;
      } catch {
        // Sealed under another SECRET_KEY: not usable.
      }
    }
    return undefined;
  }

  /**
   * The exact header block a notice of this campaign carries (composed and signed as for SMTP),
   * for a sample volunteer (id 0, a sample link): what the console shows.
   */
  async function previewHeaders(c: CampaignRow, to = 'volunteer@example.org') {
    const sample = { id: 0, campaign_id: c.id, email: to, name: '张三 (Sample Name)', number: 'NO-0001', notice_count: 0 } as RecipientRow;
    const mail = await noticeMail(c, sample, 'SAMPLE-TOKEN');
    const raw = await composeRaw(mail, mail.from!);
    const end = raw.indexOf('\r\n\r\n');
    const block = raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
    const headers = block.split(/\r\n(?![ \t])/).map((line) => {
      const i = line.indexOf(':');
      return {
        name: line.slice(0, i),
        value: line
          .slice(i + 1)
          .replace(/\r\n[ \t]+/g, ' ')
          .trim(),
      };
    });
    return {
      headers,
      raw: block,
      from: mail.from!,
      fromName: mail.fromName ?? null,
      replyTo: mail.replyTo ?? null,
      dkim: mail.dkim ? { domain: mail.dkim.domainName, selector: mail.dkim.keySelector } : null,
      transport: mail.smtp
        ? ('campaign-smtp' as const)
        : deps.config.isSmtpConfigured
          ? ('global-smtp' as const)
          : ('dev-mailbox' as const),
    };
  }

  return {
    enqueueSend,
    linkFor,
    noticeMail,
    previewHeaders,
    /** How many would be mailed by `send` now. */
    toSend: (c: CampaignRow) => recipients.countToSend(c.id),
    /** Starts (or resumes) sending; answers how many are queued. */
    async start(c: CampaignRow): Promise<number> {
      assertNotArchived(c);
      const n = await recipients.countToSend(c.id);
      await campaigns.setSending(c.id, 'sending', ['idle', 'paused', 'sending'], now());
      await enqueueSend(c.id);
      return n;
    },
    async pause(c: CampaignRow): Promise<void> {
      await campaigns.setSending(c.id, 'paused', ['sending'], now());
    },
    async resume(c: CampaignRow): Promise<void> {
      assertNotArchived(c);
      if (await campaigns.setSending(c.id, 'sending', ['paused'], now())) await enqueueSend(c.id);
    },
    /**
     * (Addition) Bulk "retry failed": every failed notice goes back to the queue (same link, attempts
     * reset) and sending starts; answers how many.
     */
    async retryFailed(c: CampaignRow): Promise<{ notices: number; certificates: number }> {
      assertNotArchived(c);
      const n = await recipients.retryFailedNotices(c.id, now());
      if (n > 0 || (await recipients.countToSend(c.id)) > 0) {
        await campaigns.setSending(c.id, 'sending', ['idle', 'paused', 'sending'], now());
        await enqueueSend(c.id);
      }
      // Failed certificate mails: their deliver job again (claims.ts's DELIVER_KIND; a live one is kept).
      const certs = await recipients.failedDeliveries(c.id);
      for (const { id } of certs)
        await jobs.enqueue('certificates.deliver', { recipientId: id }, { singletonKey: `certificates.deliver:${id}` });
      return { notices: n, certificates: certs.length };
    },
    /** Re-enqueues the planners of campaigns left sending (harmless when the job still exists). */
    async recover(): Promise<void> {
      for (const { id } of await campaigns.listSending()) await enqueueSend(id);
    },
    /**
     * Mails one recipient's notice now. A reminder (default) carries the SAME link the volunteer
     * already holds, so the earlier email keeps working; `newLink` makes a fresh one and the old
     * link stops working (an explicit action: a notice went to a wrong address, a link leaked).
     * A reminder whose link is not known (mailed before links were kept) answers 409 `no_link`.
     */
    async resendOne(c: CampaignRow, r: RecipientRow, opts: { newLink?: boolean } = {}): Promise<void> {
      if (r.unsubscribed_at !== null)
        throw new CertError(
          1,
          'unsubscribed',
          "this volunteer unsubscribed from this campaign's notices (one-click unsubscribe); the certificate, once claimed, is still mailed",
          409,
        );
      if (await deliver.repo.isBlocked(r.email))
        throw new CertError(1, 'blocked', 'this address is on the blocklist (a hard bounce); clear it first', 409);
      let token = opts.newLink ? undefined : heldLink(r);
      if (!token) {
        if (!opts.newLink && r.token_hash) {
          throw new CertError(
            1,
            'no_link',
            'the link this volunteer holds was mailed before links were kept for reminders: send a new link instead (the old one then stops working)',
            409,
          );
        }
        token = randomToken(32);
      }
      await recipients.setPendingToken(r.id, hashToken(token), secrets.seal(token), now());
      await deliver.repo.recordNotices([{ messageId: noticeMessageId(r), recipientId: r.id, campaignId: r.campaign_id }], now());
      try {
        await mailer.send(await noticeMail(c, r, token));
      } catch (err) {
        await recipients.markFailed(r.id, (err as Error).message, now());
        throw err;
      }
      // Accepted: the bookkeeping is retried, the send is not.
      for (let i = 0; ; i++) {
        try {
          await recipients.markNoticeSent(r.id, r.notice_count + 1, now());
          break;
        } catch (err) {
          if (i >= 8) throw err;
          await new Promise((res) => setTimeout(res, Math.min(100 * 2 ** i, 2000)));
        }
      }
    },
    async progress(c: CampaignRow) {
      // Every figure is the fleet's, read from the database (not this instance's memory).
      const t = now();
      const [counts, latest, pending, usedToday, optOut, history] = await Promise.all([
        recipients.counts(c.id),
        recipients.latestFailures(c.id, 10),
        recipients.countToSend(c.id),
        mailer.usage ? mailer.usage(`campaign:${c.id}`) : Promise.resolve(0),
        deliver.repo.counts(c.id),
        // The last 15 minutes by minute; the pace (notices in the last 60 s) from the same rows.
        recipients.history(c.id, Math.floor(t / 60_000) * 60_000 - 14 * 60_000, 60_000, t - 60_000),
      ]);
      const perMin = history.sentAfter;
      // A quota pause; an outage's wait is shown as `outage` instead.
      const pausedUntil = c.pause_reason === null && c.paused_until && c.paused_until > now() ? c.paused_until : null;
      return {
        counts: counts.byStatus,
        failed: { count: counts.failed, latest: latest.map((f) => ({ email: f.email, reason: f.failure ?? '', at: f.failed_at ?? 0 })) },
        sending: c.sending as 'idle' | 'sending' | 'paused',
        ratePerMin: perMin,
        etaSeconds: c.sending === 'sending' && perMin > 0 ? Math.ceil((pending / perMin) * 60) : null,
        quota: { dailyLimit: c.daily_limit ?? deps.config.mailDailyLimit ?? null, usedToday, pausedUntil },
        /** (Addition) Why sending waits: the SMTP server's failure while an outage lasts, with the next probe. */
        outage:
          c.pause_reason !== null && c.sending === 'sending'
            ? { reason: c.pause_reason, nextProbeAt: c.paused_until, probes: c.outage_probes }
            : null,
        optOut,
        history: history.buckets,
      };
    },
  };
}

export type Sending = ReturnType<typeof createSending>;
