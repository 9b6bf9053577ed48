/**
 * Bounces: reads a sender's bounce mailbox over IMAP (imapflow), recognises delivery status
 * notifications (RFC 3464 multipart/report, parsed with mailparser) and common non-standard
 * bounces, matches each to its notice by Message-ID, and applies it: a hard bounce (5.x.x) marks
 * the volunteer failed with the remote reason and blocklists the address; a soft one (4.x.x) that
 * the server gave up on mails the notice again later (same link); "delayed" reports are only read.
 * A message `unsubscribe <token>` (the List-Unsubscribe mailto) unsubscribes.
 * Every message handled is flagged \Seen, so each is applied once.
 */
import { createHash } from 'node:crypto';
import type { ParsedMail } from 'mailparser';
import { createAttemptLimiter } from '../../../platform/limits/attempts.js';
import type { CampaignRow } from '../campaigns-repo.js';
import type { CampaignService } from '../campaign-service.js';
import type { CertDeps } from '../deps.js';
import type { Sending } from '../sending.js';
import type { Deliverability } from './service.js';
import { CertError } from '../errors.js';

/** Soft bounces of one notice before it is marked failed. */
export const SOFT_BOUNCE_MAX = 3;
/** Wait before mailing a soft-bounced notice again. */
export const SOFT_BOUNCE_RETRY_MS = 30 * 60_000;
/** How long a reader holds a mailbox when it never gives it back (it crashed mid-read). */
const MAILBOX_LEASE_MS = 10 * 60_000;

export interface BounceReport {
  kind: 'hard' | 'soft' | 'delayed' | 'unsubscribe' | 'other';
  /** The notice's Message-ID (angle brackets kept). */
  messageId?: string;
  recipient?: string;
  /** 5.1.1 etc. */
  status?: string;
  /** The remote server's own words (Diagnostic-Code, or the line that says it). */
  reason?: string;
  /** For `unsubscribe`: the token. */
  token?: string;
}

/** Header-style fields of a message/delivery-status body: per-message block, then per-recipient blocks. */
function dsnBlocks(text: string): Array<Record<string, string>> {
  return text
    .replace(/\r\n/g, '\n')
    .split(/\n\s*\n/)
    .map((block) => {
      const fields: Record<string, string> = {};
      let last = '';
      for (const line of block.split('\n')) {
        if (/^[ \t]/.test(line) && last) fields[last] += ' ' + line.trim();
        else {
          const i = line.indexOf(':');
          if (i > 0) fields[(last = line.slice(0, i).trim().toLowerCase())] = line.slice(i + 1).trim();
        }
      }
      return fields;
    })
    .filter((f) => Object.keys(f).length > 0);
}

function firstMessageId(text: string): string | undefined {
  const m = /^(?:Message-ID|Message-Id):\s*(<[^>\s]+>)/im.exec(text);
  return m?.[1];
}

function contentOf(part: { content: Buffer | string }): string {
  return Buffer.isBuffer(part.content) ? part.content.toString('utf8') : String(part.content);
}

/** Reads one message: a DSN, a non-standard bounce, an unsubscribe request, or something else. */
export function classifyBounce(mail: ParsedMail, ourMessageId: (text: string) => string | undefined): BounceReport {
  const subject = mail.subject ?? '';
  const unsub = /^\s*unsubscribe\s+(\d{1,15}\.[A-Za-z0-9_-]{43})\b/i.exec(subject);
  if (unsub) return { kind: 'unsubscribe', token: unsub[1] };

  const parts = mail.attachments ?? [];
  const statusPart = parts.find((a) => /^message\/(global-)?delivery-status$/i.test(a.contentType));
  const original = parts.find((a) => /^(text\/rfc822-headers|message\/rfc822|message\/global(-headers)?)$/i.test(a.contentType));
  const inReplyTo = typeof mail.inReplyTo === 'string' ? mail.inReplyTo : undefined;
  const references = Array.isArray(mail.references) ? mail.references : mail.references ? [mail.references] : [];
  const body = `${mail.text ?? ''}\n${typeof mail.html === 'string' ? mail.html.replace(/<[^>]+>/g, ' ') : ''}`;

  let messageId = (original && firstMessageId(contentOf(original))) || undefined;
  messageId ??= [inReplyTo, ...references].find((x): x is string => !!x && !!ourMessageId(x));
  messageId ??= ourMessageId(body) ?? (original ? ourMessageId(contentOf(original)) : undefined);

  // mailparser hands a message/delivery-status part over as text (joined to the human part), or
  // as an attachment: read the fields wherever they are.
  const dsnText = statusPart
    ? contentOf(statusPart)
    : /^Final-Recipient:/im.test(mail.text ?? '') && /^Action:/im.test(mail.text ?? '')
      ? mail.text!
      : undefined;
  if (dsnText) {
    const blocks = dsnBlocks(dsnText);
    const rcpt = blocks.find((b) => b.action && /failed/i.test(b.action)) ?? blocks.find((b) => b.action) ?? blocks.find((b) => b.status);
    if (!rcpt) return { kind: 'other', messageId };
    const action = (rcpt.action ?? '').toLowerCase();
    const status = /([245])\.\d{1,3}\.\d{1,3}/.exec(rcpt.status ?? '')?.[0];
    const reason = (rcpt['diagnostic-code'] ?? '').replace(/^smtp;\s*/i, '').trim() || rcpt.status || action;
    const recipient = (rcpt['final-recipient'] ?? rcpt['original-recipient'] ?? '').replace(/^[^;]*;\s*/, '').trim() || undefined;
    if (action.startsWith('delayed') || action.startsWith('relayed') || action.startsWith('delivered') || action.startsWith('expanded')) {
      return { kind: action.startsWith('delayed') ? 'delayed' : 'other', messageId, recipient, status, reason };
    }
    const kind = status?.startsWith('4') ? 'soft' : 'hard';
    return { kind, messageId, recipient, status, reason };
  }

  // Non-standard bounces (qmail, old Exchange, some Chinese providers): the subject says so and
  // the body quotes the remote answer.
  const looksLikeBounce =
    /undeliver|undelivered|delivery (status notification|failure|has failed)|returned mail|failure notice|mail delivery (failed|system)|could not be delivered|退信|系统退信|未能送达|投递失败/i.test(
      subject,
    ) || /^(mailer-daemon|postmaster)@/i.test(mail.from?.value?.[0]?.address ?? '');
  if (!looksLikeBounce) return { kind: 'other', messageId };
  const lines = body.split(/\r?\n/).map((l) => l.trim());
  const enhanced = lines.find((l) => /\b[45]\.\d{1,3}\.\d{1,3}\b/.test(l)) ?? lines.find((l) => /\b[45]\d\d[ -]/.test(l));
  const status = enhanced
    ? (/\b([45]\.\d{1,3}\.\d{1,3})\b/.exec(enhanced)?.[1] ?? `${/\b([45])\d\d\b/.exec(enhanced)?.[1]}.0.0`)
    : undefined;
  const recipient = /<([^<>\s@]+@[^<>\s]+)>:/.exec(body)?.[1];
  // Without a code, a bounce that names no temporary cause is taken as permanent.
  const kind = status?.startsWith('4') || /temporar|try again later|暂时/i.test(enhanced ?? '') ? 'soft' : 'hard';
  return { kind, messageId, recipient, status, reason: enhanced ?? subject };
}

export interface BounceCheckResult {
  read: number;
  hard: number;
  soft: number;
  unmatched: number;
  unsubscribed: number;
}

/** Connection options of imapflow from `imap[s]://user:pass@host:port/MAILBOX`. */
function imapOptions(url: string) {
  const u = new URL(url);
  const secure = u.protocol === 'imaps:';
  const loopback = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/i.test(u.hostname);
  return {
    mailbox: decodeURIComponent(u.pathname.slice(1)) || 'INBOX',
    options: {
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: Number(u.port) || (secure ? 993 : 143),
      secure,
      // Plain imap:// away from this machine must upgrade: a password never crosses a network in clear.
      doSTARTTLS: secure || loopback ? undefined : true,
      auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) },
      logger: false as const,
      connectionTimeout: 15_000,
      greetingTimeout: 15_000,
      socketTimeout: 60_000,
    },
  };
}

export function createBounces(deps: CertDeps, campaignsSvc: CampaignService, deliver: Deliverability, sending: Sending) {
  const { campaigns, now, logger } = deps;
  const host = (() => {
    try {
      return new URL(deps.config.publicUrl).hostname;
    } catch {
      return 'localhost';
    }
  })();
  const ours = new RegExp(`<(?:notice|certificate)\\.\\d+\\.\\d+@${host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}>`, 'i');
  const ourMessageId = (text: string) => ours.exec(text)?.[0];
  const limiter = createAttemptLimiter({ db: deps.db, now });

  /**
   * One reader of a mailbox at a time across the fleet: two instances reading at once would both
   * fetch the same unseen reports before either flags them, and apply each twice (a second soft
   * bounce counted, the notice scheduled again). A lease in the database (a window of one, keyed
   * by a hash of the URL so its password is not stored), given back when the read ends; a crashed
   * reader's lease runs out after MAILBOX_LEASE_MS. Undefined when another reader holds it.
   */
  async function withMailboxLease<T>(url: string, read: () => Promise<T>): Promise<T | undefined> {
    const key = `bounce-mailbox:${createHash('sha256').update(url).digest('hex').slice(0, 32)}`;
    if (!(await limiter.reserve([{ kind: 'window', key, limit: 1, windowMs: MAILBOX_LEASE_MS }])).ok) return undefined;
    try {
      return await read();
    } finally {
      await limiter.reset([key]).catch((err) => logger.warn({ err }, 'bounce mailbox: could not give back the lease'));
    }
  }

  /** Applies one report; answers what it was counted as. */
  async function apply(report: BounceReport): Promise<keyof BounceCheckResult> {
    if (report.kind === 'unsubscribe') {
      const rid = report.token ? deliver.recipientOfToken(report.token) : undefined;
      if (rid === undefined) return 'unmatched';
      await deliver.repo.unsubscribe(rid, now());
      return 'unsubscribed';
    }
    if (report.kind !== 'hard' && report.kind !== 'soft') return 'read';
    const hit = report.messageId ? await deliver.repo.findNotice(report.messageId) : undefined;
    if (!hit) return 'unmatched';
    const reason = `bounced: ${report.status ?? ''} ${report.reason ?? ''}`.replace(/\s+/g, ' ').trim();
    if (report.kind === 'hard') {
      await deliver.repo.markBounced(hit.recipientId, reason, now());
      await deliver.repo.block(hit.email, reason, hit.campaignId, report.messageId ?? null, now());
      return 'hard';
    }
    const attempts = Number(hit.attempts) + 1;
    if (attempts >= SOFT_BOUNCE_MAX) {
      await deps.recipients.markFailed(hit.recipientId, `${reason} (after ${attempts} soft bounces)`, now());
      return 'soft';
    }
    await deliver.repo.scheduleResendAfterSoftBounce(hit.recipientId, attempts, now() + SOFT_BOUNCE_RETRY_MS * attempts, now());
    const c = await campaigns.find(hit.campaignId);
    if (c && c.archived !== 1 && c.sending === 'idle') await sending.start(c);
    return 'soft';
  }

  /** Reads every unseen message of one mailbox and applies it. */
  async function readMailbox(url: string): Promise<BounceCheckResult> {
    const result: BounceCheckResult = { read: 0, hard: 0, soft: 0, unmatched: 0, unsubscribed: 0 };
    const { mailbox, options } = imapOptions(url);
    // Loaded when a bounce mailbox is read: IMAP and MIME parsing are ~10 MB of heap an instance
    // without BOUNCE_IMAP_URL never needs (issue 15, idle memory).
    const [{ ImapFlow }, { simpleParser }] = await Promise.all([import('imapflow'), import('mailparser')]);
    const client = new ImapFlow(options);
    client.on('error', (err: Error) => logger.warn({ err: err.message }, 'bounce mailbox connection error'));
    await client.connect();
    try {
      const lock = await client.getMailboxLock(mailbox);
      try {
        const unseen: { uid: number; source: Buffer }[] = [];
        for await (const msg of client.fetch({ seen: false }, { uid: true, source: true })) {
          if (msg.source) unseen.push({ uid: msg.uid, source: msg.source });
        }
        for (const m of unseen) {
          const parsed = await simpleParser(m.source, { skipHtmlToText: true, skipTextLinks: true });
          const counted = await apply(classifyBounce(parsed, ourMessageId));
          result.read++;
          if (counted !== 'read') result[counted]++;
          // Flag it at once: a crash after this message does not apply it twice.
          await client.messageFlagsAdd({ uid: String(m.uid) }, ['\\Seen'], { uid: true });
        }
      } finally {
        lock.release();
      }
    } finally {
      await client.logout().catch(() => client.close());
    }
    return result;
  }

  return {
    classify: (mail: ParsedMail) => classifyBounce(mail, ourMessageId),
    /** Reads the campaign's bounce mailbox now; 409 when it has none. */
    async check(c: CampaignRow): Promise<BounceCheckResult> {
      const b = campaignsSvc.bounceImapUrlOf(c);
      if (!b)
        throw new CertError(
          1,
          'no_bounce_mailbox',
          'no bounce mailbox is set for this campaign (mail.bounceImapUrl) or BOUNCE_IMAP_URL',
          409,
        );
      let r: BounceCheckResult | undefined;
      try {
        r = await withMailboxLease(b.url, () => readMailbox(b.url));
      } catch (err) {
        const e = err as { responseText?: string; message?: string; code?: string };
        throw new CertError(
          4,
          'imap_error',
          `the bounce mailbox could not be read: ${e.responseText ?? e.message ?? e.code ?? String(err)}`,
          502,
        );
      }
      if (!r)
        throw new CertError(
          4,
          'mailbox_busy',
          'the bounce mailbox is being read right now (by another instance); try again in a moment',
          409,
        );
      return r;
    },
    /** Reads every distinct bounce mailbox once (the timer's work). */
    async pollAll(): Promise<void> {
      const urls = new Set<string>();
      if (deps.config.bounceImapUrl) urls.add(deps.config.bounceImapUrl);
      for (const c of await campaigns.withBounceMailbox()) {
        const b = campaignsSvc.bounceImapUrlOf(c);
        if (b) urls.add(b.url);
      }
      for (const url of urls) {
        try {
          const r = await withMailboxLease(url, () => readMailbox(url));
          if (r?.read) logger.info({ ...r, host: new URL(url).hostname }, 'bounce mailbox read');
        } catch (err) {
          logger.warn({ err: (err as Error).message, host: new URL(url).hostname }, 'bounce mailbox could not be read');
        }
      }
    },
  };
}

export type Bounces = ReturnType<typeof createBounces>;
