/**
 * Builds the Mailer: SMTP (SMTP_URL, or a sender's own `mail.smtp`) through pooled nodemailer
 * transports, or the dev mailbox when no SMTP is configured; paced (MAIL_RATE_PER_SEC and a
 * sender's `pacing.ratePerSec`), quota-checked (MAIL_DAILY_LIMIT and `pacing.dailyLimit`, rolling
 * 24 h, durable), with failures classified. `enqueue` writes a durable `mail.send` job.
 */
import type { Config } from '../../config.js';
import type { SecretBox } from '../crypto/secretbox.js';
import type { DatabaseHandle, Executor } from '../db/index.js';
import { PermanentJobError, type JobQueue } from '../jobs/types.js';
import type { Logger } from '../logger.js';
import { domainOf } from '../text/email.js';
import { storeInDevMailbox } from './dev-mailbox.js';
import { DailyQuota, FleetPace, type QuotaLimit } from './pacing.js';
import { defaultFromOf, sendOnce, SmtpPools, smtpSettingsOptions, smtpUrlOptions, type PoolOptions } from './smtp.js';
import type { DkimKeyLookup, DkimSigning, Mailer, OutgoingMail, SendOptions, SendResult, SmtpSettings } from './types.js';

export * from './types.js';
export { classifySmtpError } from './smtp.js';

/** The job kind `Mailer.enqueue` writes. */
export const MAIL_SEND_JOB = 'mail.send';

export interface MailerDeps {
  config: Config;
  handle: DatabaseHandle;
  jobs: JobQueue;
  logger: Logger;
  /** Encrypts a sender's SMTP password inside queued `mail.send` payloads. */
  secrets?: SecretBox;
  /** Clock for the daily quota (tests inject one). */
  now?: () => number;
  /** SMTP pool sizing (default 5 connections x 1,000 messages). */
  pool?: PoolOptions;
  /**
   * Concurrency of `mail.send` jobs in this process. Default: 4 per pooled connection (20), so
   * each connection always has the next message waiting (bench/mail.bench.ts: about 2x the
   * throughput of one per connection).
   */
  sendConcurrency?: number;
  /** Retry delay of `mail.send` after a temporary failure (default: the queue's, 2^n s up to 15 min). */
  backoffMs?: (attempt: number) => number;
}

/**
 * What a `mail.send` job holds: the QueuedMail as JSON sealed with `core.secrets` (links,
 * codes and passwords are never in clear at rest, failed jobs included). `QueuedMail` itself is
 * still read for jobs queued by earlier versions.
 */
type MailJobPayload = { sealed: string } | QueuedMail;

/** How an OutgoingMail travels inside a job payload (JSON). */
interface QueuedMail extends Omit<OutgoingMail, 'attachments' | 'smtp' | 'dkim'> {
  dkim?: Omit<NonNullable<OutgoingMail['dkim']>, 'privateKey'> & { sealedKey?: string; privateKey?: string };
  attachments?: Array<{ filename: string; contentType: string; base64: string }>;
  smtp?: Omit<SmtpSettings, 'pass'> & { sealedPass?: string; pass?: string };
}

/** The environment's DKIM key (DKIM_*) when `domain` (lower case) is its domain. */
export function environmentDkimKey(config: Pick<Config, 'dkim'>, domain: string): DkimSigning | undefined {
  const k = config.dkim;
  return k && k.domain === domain ? { domainName: domain, keySelector: k.selector, privateKey: k.privateKey } : undefined;
}

/** Builds the Mailer and defines the `mail.send` job kind on `jobs`. */
export function createMailer(deps: MailerDeps): Mailer {
  const { config, handle, jobs, logger } = deps;
  const now = deps.now ?? Date.now;
  const pools = new SmtpPools(deps.pool);
  const quota = new DailyQuota(handle.db, handle.dialect, now);
  const pace = new FleetPace(handle.db, handle.dialect);
  const defaultSmtp = config.smtpUrl ? smtpUrlOptions(config.smtpUrl) : undefined;
  const defaultFrom =
    config.mailFrom ?? (defaultSmtp?.auth?.user?.includes('@') ? defaultSmtp.auth.user : undefined) ?? 'volunteer-hub@localhost';

  async function deliver(mail: OutgoingMail, from: string): Promise<SendResult> {
    if (mail.smtp) return pools.send(smtpSettingsOptions(mail.smtp), mail, from);
    if (defaultSmtp) return pools.send(defaultSmtp, mail, from);
    return storeInDevMailbox(handle.db, mail, from, now());
  }

  // Mail that names no DKIM key is signed when its sender domain has one (useDkimKeys); the
  // environment's key until a module hands in its lookup.
  let dkimKeyFor: DkimKeyLookup = async (domain) => environmentDkimKey(config, domain);

  async function send(mail: OutgoingMail, opts: SendOptions = {}): Promise<SendResult> {
    const limits: QuotaLimit[] = [{ key: '*', dailyLimit: config.mailDailyLimit }];
    if (mail.pacing?.key) limits.push({ key: mail.pacing.key, dailyLimit: mail.pacing.dailyLimit });
    // The quota first: a send that would exceed it fails fast instead of waiting for its turn.
    const reservation = await quota.reserve(limits);
    try {
      // Before the pace's wait: a hook that writes to the database (an attempting marker) must not
      // sit between the reserved slot and the send, or sends delayed by a slow write go out in a bunch.
      await opts.beforeSend?.();
      // The fleet's pace, reserved in the database (MAIL_RATE_PER_SEC and the sender's own rate).
      const rates: Array<{ key: string; ratePerSec: number }> = [];
      if (config.mailRatePerSec) rates.push({ key: '*', ratePerSec: config.mailRatePerSec });
      if (mail.pacing?.key && mail.pacing.ratePerSec) rates.push({ key: mail.pacing.key, ratePerSec: mail.pacing.ratePerSec });
      if (rates.length) await pace.take(rates);
      const from = mail.from ?? defaultFromOf(mail.smtp) ?? defaultFrom;
      const dkim = mail.dkim ?? (await dkimKeyFor(domainOf(from)));
      return await deliver(dkim ? { ...mail, dkim } : mail, from);
    } catch (err) {
      await quota.release(reservation).catch((e) => logger.error({ err: e }, 'mail: could not give back a quota slot'));
      throw err;
    }
  }

  function toQueued(mail: OutgoingMail): QueuedMail {
    const { attachments, smtp, dkim, ...rest } = mail;
    const q: QueuedMail = { ...rest };
    if (dkim) {
      const { privateKey, ...d } = dkim;
      q.dkim = deps.secrets ? { ...d, sealedKey: deps.secrets.seal(privateKey) } : dkim;
    }
    if (attachments?.length) {
      q.attachments = attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, base64: a.content.toString('base64') }));
    }
    if (smtp) {
      const { pass, ...s } = smtp;
      q.smtp = deps.secrets && pass !== undefined ? { ...s, sealedPass: deps.secrets.seal(pass) } : smtp;
    }
    return q;
  }

  function fromQueued(q: QueuedMail): OutgoingMail {
    const { attachments, smtp, dkim, ...rest } = q;
    const mail: OutgoingMail = { ...rest };
    if (dkim) {
      const { sealedKey, privateKey, ...d } = dkim;
      const key = sealedKey !== undefined && deps.secrets ? deps.secrets.open(sealedKey) : privateKey;
      if (key) mail.dkim = { ...d, privateKey: key };
    }
    if (attachments)
      mail.attachments = attachments.map((a) => ({
        filename: a.filename,
        contentType: a.contentType,
        content: Buffer.from(a.base64, 'base64'),
      }));
    if (smtp) {
      const { sealedPass, ...s } = smtp;
      mail.smtp = sealedPass !== undefined && deps.secrets ? { ...s, pass: deps.secrets.open(sealedPass) } : s;
    }
    return mail;
  }

  function openPayload(p: MailJobPayload): QueuedMail {
    if ('sealed' in p && typeof p.sealed === 'string') {
      if (!deps.secrets) throw new PermanentJobError('a sealed mail job needs the secret key');
      return JSON.parse(deps.secrets.open(p.sealed)) as QueuedMail;
    }
    return p as QueuedMail;
  }

  jobs.define<MailJobPayload>(MAIL_SEND_JOB, {
    concurrency: deps.sendConcurrency ?? 4 * (deps.pool?.maxConnections ?? 5),
    backoffMs: deps.backoffMs,
    // TemporaryMailError: retried with backoff; PermanentMailError: fails at once;
    // QuotaExceeded (a RetryLater): waits for the window without spending an attempt.
    handler: async (payload) => {
      await send(fromQueued(openPayload(payload)));
    },
    onFailed: (payload, error) => {
      let messageId: string | undefined;
      try {
        messageId = openPayload(payload).messageId;
      } catch {
        // Unreadable under this key: the error says enough.
      }
      logger.warn({ messageId, err: error.message }, 'mail: message could not be delivered');
      return Promise.resolve();
    },
  });

  return {
    isDevMailbox: !defaultSmtp,
    send,
    async enqueue(mail: OutgoingMail, opts: { trx?: Executor } = {}) {
      const q = toQueued(mail);
      const payload: MailJobPayload = deps.secrets ? { sealed: deps.secrets.seal(JSON.stringify(q)) } : q;
      await jobs.enqueue(MAIL_SEND_JOB, payload, { trx: opts.trx });
    },
    async sendTest(smtp: SmtpSettings, to: string): Promise<SendResult> {
      const from = defaultFromOf(smtp) ?? defaultFrom;
      const host = smtp.host.replace(/[^A-Za-z0-9.-]/g, '') || 'localhost';
      const mail: OutgoingMail = {
        to,
        subject: 'volunteer-hub: test message',
        text: `This is a test message from volunteer-hub, sent through ${smtp.host}:${smtp.port}.`,
        html: `<p>This is a test message from volunteer-hub, sent through ${host}:${smtp.port}.</p>`,
        messageId: `<test.${Date.now()}.${Math.random().toString(36).slice(2)}@${host}>`,
      };
      return sendOnce(smtpSettingsOptions(smtp), mail, from);
    },
    async usage(key: string) {
      await quota.flush().catch(() => undefined);
      return (await quota.usage(key)).used;
    },
    useDkimKeys(keyFor) {
      dkimKeyFor = keyFor;
    },
    async close() {
      await quota.flush().catch((err) => logger.error({ err }, 'mail: could not write send counts'));
      await pools.close();
    },
  };
}
