/**
 * Outgoing mail. A transport is SMTP (nodemailer, pooled) or the dev mailbox (stored in the
 * database, viewable at /dev/mail). The Mailer in front of it paces sending (MAIL_RATE_PER_SEC)
 * and keeps the daily quota (MAIL_DAILY_LIMIT), and classifies failures:
 * - TemporaryMailError: 4xx answers, connection refused/reset, timeouts: retry with backoff;
 * - PermanentMailError: 5xx answers: do not retry, record the reason;
 * - QuotaExceeded (a RetryLater): the daily quota is used up until `delayMs` from now.
 */
import { PermanentJobError, RetryLater } from '../jobs/types.js';

export interface MailAttachment {
  filename: string;
  content: Buffer;
  contentType: string;
}

export interface OutgoingMail {
  to: string;
  subject: string;
  html: string;
  text?: string;
  attachments?: MailAttachment[];
  /** Stable, derived from what the message is for (e.g. `<notice.<recipientId>.<n>@host>`), so a repeat after a crash is recognisable. */
  messageId: string;
  /** Overrides the configured sender (the address). */
  from?: string;
  /** (Addition) Display name shown with `from` (any script; encoded by nodemailer). */
  fromName?: string;
  /** (Addition) Where replies go (e.g. the organizer). */
  replyTo?: string;
  /** (Addition) Extra header lines, e.g. List-Unsubscribe; values as they appear on the wire. */
  headers?: Record<string, string>;
  /** (Addition) DKIM signing with nodemailer's own signer (the From domain's key). */
  dkim?: DkimSigning;
  /** Per-sender SMTP settings (a campaign's own account); default: SMTP_URL or the dev mailbox. */
  smtp?: SmtpSettings;
  /**
   * (Addition) Per-sender pacing, applied in addition to the global MAIL_RATE_PER_SEC and
   * MAIL_DAILY_LIMIT: e.g. a campaign's own rate and daily quota (`key: 'campaign:12'`).
   * The daily limit is a rolling 24 h, counted durably per key.
   */
  pacing?: MailPacing;
}

/** (Addition) nodemailer's DKIM options for one message. */
export interface DkimSigning {
  domainName: string;
  keySelector: string;
  /** PEM. */
  privateKey: string;
}

/** (Addition) A sender's own pace and quota, see OutgoingMail.pacing. */
export interface MailPacing {
  /** Stable name of the sender whose sends are counted together. */
  key: string;
  /** Most messages per second for this key. */
  ratePerSec?: number;
  /** Most messages per rolling 24 hours for this key; beyond it send() throws QuotaExceeded. */
  dailyLimit?: number;
}

export interface SmtpSettings {
  host: string;
  port: number;
  /** 'tls' = implicit TLS (465); 'starttls' = upgrade required; 'none' = plain (loopback/test only). */
  security: 'tls' | 'starttls' | 'none';
  user?: string;
  pass?: string;
  from?: string;
}

export interface SendResult {
  messageId: string;
  /** The server's answer to DATA, e.g. "250 2.0.0 Ok: queued as ...". */
  response: string;
}

export interface MailTransport {
  send(mail: OutgoingMail): Promise<SendResult>;
  close(): Promise<void>;
}

export class TemporaryMailError extends Error {
  /**
   * 'connection': the server or the way to it failed (refused, timeout, TLS, 421, 535 auth), so
   * every message would fail alike; 'recipient': this message was refused for now (4xx to RCPT/DATA).
   */
  constructor(
    message: string,
    readonly responseCode?: number,
    readonly scope: 'connection' | 'recipient' = 'recipient',
  ) {
    super(message);
    this.name = 'TemporaryMailError';
  }
}

export class PermanentMailError extends PermanentJobError {
  constructor(
    message: string,
    readonly responseCode?: number,
  ) {
    super(message);
    this.name = 'PermanentMailError';
  }
}

export class QuotaExceeded extends RetryLater {
  constructor(message: string, delayMs: number) {
    super(message, delayMs);
    this.name = 'QuotaExceeded';
  }
}

export interface SendOptions {
  /**
   * Runs after the quota check and before the pace's wait, so a slow database write here never
   * delays a reserved slot (e.g. to record "attempting"). Throwing cancels the send.
   */
  beforeSend?: () => Promise<void>;
}

/** What modules use to send mail. */
export interface Mailer {
  /** True when no SMTP is configured and messages go to the dev mailbox. */
  readonly isDevMailbox: boolean;
  /** Sends now, paced and quota-checked. Throws TemporaryMailError, PermanentMailError or QuotaExceeded. */
  send(mail: OutgoingMail, opts?: SendOptions): Promise<SendResult>;
  /**
   * Durable send: writes a `mail.send` job (in `trx` when given) that the queue delivers with
   * retries; for one-off mails (activation, codes, notices of password changes).
   */
  enqueue(mail: OutgoingMail, opts?: { trx?: import('../db/index.js').Executor }): Promise<void>;
  /**
   * (Addition) Sends one test message through `smtp` on a fresh connection, without pacing or
   * quota: resolves with the server's answer, or throws TemporaryMailError / PermanentMailError
   * whose message is the server's text (or the connection error). For the console's test button.
   */
  sendTest?(smtp: SmtpSettings, to: string): Promise<SendResult>;
  /** (Addition) Messages counted for a pacing key in the rolling 24 h window (the fleet's, from the database). */
  usage?(key: string): Promise<number>;
  /**
   * (Addition) Where the DKIM key of a sender domain comes from for mail that names none (member
   * mail, the assistant's): the certificates module hands in its keys (the console's, then the
   * environment's). Until then, and without it, the environment's DKIM_* key signs mail from its domain.
   */
  useDkimKeys?(keyFor: DkimKeyLookup): void;
  /** Closes pooled SMTP connections. */
  close(): Promise<void>;
}

/** The DKIM key of a sender domain (lower case), or undefined when it has none. */
export type DkimKeyLookup = (domain: string) => Promise<DkimSigning | undefined>;
