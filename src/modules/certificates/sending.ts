/**
 * Mailing the notices: `send` marks the campaign sending and enqueues ONE singleton job per
 * campaign that walks recipients at status 0 (keyset by id) with several sends in flight.
 * For each: a link token (32 random bytes; only its SHA-256 kept, plus a sealed copy while the
 * notice is in flight so a retry after a crash mails the same link under the same Message-ID),
 * the notice, then status 1 as soon as the SMTP server accepted it.
 */
import { hashToken, randomToken } from '../../platform/crypto/tokens.js';
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

export const SEND_KIND = 'certificates.send';
/** Notices in flight at once per campaign (a pooled SMTP needs several to reach its rate). */
export const SEND_CONCURRENCY = 16;
const PAGE = 500;
/** Temporary failures per recipient before the notice is marked failed. */
export const NOTICE_MAX_ATTEMPTS = 8;

/** Backoff of a recipient's notice after its n-th temporary failure: 1 s, 2 s, 4 s ... 15 min. */
export function noticeBackoffMs(attempt: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attempt - 1), 15 * 60_000);
}

/** Sends per second over the last minute, per campaign (for progress). */
function createRateMeter(now: () => number) {
  const buckets = new Map<number, Map<number, number>>();
  const today = new Map<number, { day: number; n: number }>();
  return {
    hit(cid: number) {
      const t = now();
      const sec = Math.floor(t / 1000);
      let b = buckets.get(cid);
      if (!b) buckets.set(cid, (b = new Map()));
      b.set(sec, (b.get(sec) ?? 0) + 1);
      if (b.size > 90) for (const k of b.keys()) if (k < sec - 60) b.delete(k);
      const day = Math.floor(t / 86_400_000);
      const d = today.get(cid);
      if (!d || d.day !== day) today.set(cid, { day, n: 1 });
      else d.n++;
    },
    perMinute(cid: number): number {
      const sec = Math.floor(now() / 1000);
      let n = 0;
      for (const [k, v] of buckets.get(cid) ?? []) if (k > sec - 60) n += v;
      return n;
    },
    usedToday(cid: number): number {
      const d = today.get(cid);
      return d && d.day === Math.floor(now() / 86_400_000) ? d.n : 0;
    },
  };
}

/** Builds the sending service and registers its job. */
export function createSending(deps: CertDeps, campaignsSvc: CampaignService, deliver: Deliverability) {
  const { campaigns, recipients, jobs, mailer, secrets, now, logger, db } = deps;
  const host = messageHost(deps.config.publicUrl);
  const meter = createRateMeter(now);

  async function enqueueSend(campaignId: number): Promise<void> {
    await jobs.enqueue(SEND_KIND, { campaignId }, { singletonKey: `${SEND_KIND}:${campaignId}` });
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
    await deliver.repo.recordNotices(rows.map((r) => ({ messageId: noticeMessageId(r), recipientId: r.id, campaignId: r.campaign_id })), now());
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

  /** Mails one notice and records it; returns a RetryLater when the quota stops sending. */
  async function sendOne(c: CampaignRow, r: RecipientRow, token: string, ack: (id: number) => Promise<void>): Promise<RetryLater | undefined> {
    try {
      await mailer.send(await noticeMail(c, r, token));
      meter.hit(c.id);
      certMetrics.noticesSent.inc();
      await ack(r.id);
      return undefined;
    } catch (err) {
      if (err instanceof RetryLater) return err;
      const reason = (err as Error)?.message ?? String(err);
      certMetrics.noticeFailures.inc({ kind: err instanceof PermanentMailError ? 'permanent' : 'temporary' });
      if (err instanceof PermanentMailError) {
        await recipients.markFailed(r.id, reason, now());
      } else {
        const attempts = r.attempts + 1;
        if (attempts >= NOTICE_MAX_ATTEMPTS) await recipients.markFailed(r.id, `${reason} (after ${attempts} attempts)`, now());
        else await recipients.scheduleNoticeRetry(r.id, attempts, now() + noticeBackoffMs(attempts), now());
        if (!(err instanceof TemporaryMailError)) logger.warn({ err, recipient: r.id }, 'notice failed unexpectedly; will retry');
      }
      return undefined;
    }
  }

  /** The campaign-send job: runs until every due notice is sent, paused, or the quota is used up. */
  async function runSend(payload: { campaignId: number }, ctx: JobContext): Promise<void> {
    const cid = payload.campaignId;
    let c = await campaigns.find(cid);
    if (!c || c.sending !== 'sending') return;
    if (c.paused_until) await campaigns.update(cid, { paused_until: null });
    let cursor = 0;
    const stopping = () => ctx.signal.aborted || ctx.stopping.aborted;
    const ack = createAcks();
    for (;;) {
      if (stopping()) throw new RetryLater('the queue is stopping', 0);
      c = await campaigns.find(cid);
      if (!c || c.sending !== 'sending') return;
      const page = await recipients.dueNotices(cid, cursor, PAGE, now());
      if (page.length === 0) {
        const pending = await recipients.pendingNotices(cid);
        if (pending.n === 0) {
          await campaigns.setSending(cid, 'idle', ['sending'], now());
          logger.info({ campaign: cid }, 'all notices sent');
          return;
        }
        if (pending.nextAt !== null && pending.nextAt > now()) throw new RetryLater('waiting for notices to retry', pending.nextAt - now());
        cursor = 0;
        continue;
      }
      cursor = page[page.length - 1].id;
      const tokens = await prepareTokens(page);
      let next = 0;
      let stop: RetryLater | undefined;
      const campaign = c;
      const worker = async () => {
        while (!stop && !stopping() && next < page.length) {
          const r = page[next++];
          const q = await sendOne(campaign, r, tokens.get(r.id)!, ack);
          if (q) stop = q;
        }
      };
      await Promise.all(Array.from({ length: Math.min(SEND_CONCURRENCY, page.length) }, worker));
      if (stop) {
        await campaigns.update(cid, { paused_until: now() + stop.delayMs });
        throw new RetryLater(`mail quota reached: ${stop.message}`, stop.delayMs);
      }
    }
  }

  jobs.define<{ campaignId: number }>(SEND_KIND, { handler: runSend, concurrency: 2, maxAttempts: 50 });

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
      return { name: line.slice(0, i), value: line.slice(i + 1).replace(/\r\n[ \t]+/g, ' ').trim() };
    });
    return {
      headers,
      raw: block,
      from: mail.from!,
      fromName: mail.fromName ?? null,
      replyTo: mail.replyTo ?? null,
      dkim: mail.dkim ? { domain: mail.dkim.domainName, selector: mail.dkim.keySelector } : null,
      transport: mail.smtp ? ('campaign-smtp' as const) : deps.config.isSmtpConfigured ? ('global-smtp' as const) : ('dev-mailbox' as const),
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
    /** Re-enqueues the jobs of campaigns left sending (harmless when the job still exists). */
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
      if (r.unsubscribed_at !== null) throw new CertError(1, 'unsubscribed', 'this volunteer unsubscribed from this campaign\'s notices (one-click unsubscribe); the certificate, once claimed, is still mailed', 409);
      if (await deliver.repo.isBlocked(r.email)) throw new CertError(1, 'blocked', 'this address is on the blocklist (a hard bounce); clear it first', 409);
      let token = opts.newLink ? undefined : heldLink(r);
      if (!token) {
        if (!opts.newLink && r.token_hash) {
          throw new CertError(1, 'no_link', 'the link this volunteer holds was mailed before links were kept for reminders: send a new link instead (the old one then stops working)', 409);
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
      await recipients.markNoticeSent(r.id, r.notice_count + 1, now());
    },
    async progress(c: CampaignRow) {
      const [counts, latest, pending, optOut] = await Promise.all([recipients.counts(c.id), recipients.latestFailures(c.id, 10), recipients.countToSend(c.id), deliver.repo.counts(c.id)]);
      const perMin = meter.perMinute(c.id);
      const pausedUntil = c.paused_until && c.paused_until > now() ? c.paused_until : null;
      return {
        counts: counts.byStatus,
        failed: { count: counts.failed, latest: latest.map((f) => ({ email: f.email, reason: f.failure ?? '', at: f.failed_at ?? 0 })) },
        sending: c.sending as 'idle' | 'sending' | 'paused',
        ratePerMin: perMin,
        etaSeconds: c.sending === 'sending' && perMin > 0 ? Math.ceil((pending / perMin) * 60) : null,
        quota: { dailyLimit: c.daily_limit ?? deps.config.mailDailyLimit ?? null, usedToday: meter.usedToday(c.id), pausedUntil },
        optOut,
      };
    },
  };
}

export type Sending = ReturnType<typeof createSending>;
