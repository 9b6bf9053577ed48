/**
 * SMTP through nodemailer: pooled transports cached per SMTP settings, and the classification of
 * failures into TemporaryMailError (retry) and PermanentMailError (record the reason).
 */
import { createRequire } from 'node:module';
import type { SendMailOptions, Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import { PermanentMailError, TemporaryMailError, type OutgoingMail, type SendResult, type SmtpSettings } from './types.js';

/** Pool sizing: 5 connections, each reused for up to 1,000 messages (see bench/mail.bench.ts). */
export interface PoolOptions {
  maxConnections?: number;
  maxMessages?: number;
  /** Connection, greeting and socket timeouts in ms (default 10 s, 10 s, 60 s). */
  timeouts?: { connectionTimeout?: number; greetingTimeout?: number; socketTimeout?: number };
}

/** Network failures that say nothing about the message: try again later. */
const TEMPORARY_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNECTION',
  'ESOCKET',
  'EDNS',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ESTREAM',
]);

/**
 * Maps a nodemailer error to the mail error classes: a 5xx answer is permanent (the server's own
 * text is the reason); a 4xx answer, a refused/reset connection or a timeout (greeting, socket) is
 * temporary. Anything unrecognised counts as temporary: retried with backoff, then failed after
 * the last attempt, never dropped silently.
 */
export function classifySmtpError(err: unknown): TemporaryMailError | PermanentMailError {
  if (err instanceof TemporaryMailError || err instanceof PermanentMailError) return err;
  const e = (err ?? {}) as { responseCode?: number; response?: string; code?: string; command?: string; message?: string };
  const text = (e.response || e.message || String(err)).trim();
  const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  // The server (or the way to it) failed, not this recipient: every message would fail the same
  // way, so a campaign pauses rather than fail anyone, and a single mail is retried.
  if (isConnectionLevel(e, code)) {
    const label = e.code && !text.startsWith(e.code) ? `${e.code}: ${text}` : text;
    return new TemporaryMailError(label, code, 'connection');
  }
  if (code !== undefined && code >= 500 && code < 600) return new PermanentMailError(text, code);
  if (code !== undefined && code >= 400 && code < 500) return new TemporaryMailError(text, code);
  // Refused before anything was sent (no recipient, unparseable address or message): retrying cannot help.
  if (code === undefined && (e.code === 'EENVELOPE' || e.code === 'EMESSAGE')) return new PermanentMailError(text);
  const label = e.code && TEMPORARY_CODES.has(e.code) ? `${e.code}: ${text}` : text;
  return new TemporaryMailError(label, code);
}

/** Connection, greeting, TLS and authentication failures, 421 (service closing) and 530/534/535 (auth). */
function isConnectionLevel(e: { code?: string; command?: string }, code: number | undefined): boolean {
  if (code === 421 || code === 530 || code === 534 || code === 535 || code === 454) return true;
  if (e.code && (TEMPORARY_CODES.has(e.code) || e.code === 'EAUTH' || e.code === 'ETLS' || e.code === 'EPROTOCOL')) return true;
  const cmd = (e.command ?? '').toUpperCase();
  return (
    code !== undefined &&
    (cmd === 'CONN' ||
      cmd === 'GREETING' ||
      cmd.startsWith('EHLO') ||
      cmd.startsWith('HELO') ||
      cmd.startsWith('AUTH') ||
      cmd === 'STARTTLS')
  );
}

/** Parses SMTP_URL (`smtp://user:pass@host:port` or `smtps://...`) into nodemailer options. */
export function smtpUrlOptions(url: string): SMTPPool.Options {
  const u = new URL(url);
  const secure = u.protocol === 'smtps:';
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    // smtp:// upgrades with STARTTLS when the server offers it (nodemailer's default).
    auth: u.username ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } : undefined,
  };
}

/** nodemailer options for a sender's own SmtpSettings. */
export function smtpSettingsOptions(s: SmtpSettings): SMTPPool.Options {
  return {
    host: s.host,
    port: s.port,
    secure: s.security === 'tls',
    requireTLS: s.security === 'starttls',
    ignoreTLS: s.security === 'none',
    auth: s.user ? { user: s.user, pass: s.pass ?? '' } : undefined,
  };
}

/** The sender address a settings object implies (its `from`, else its user when it is an address). */
export function defaultFromOf(s: { from?: string; user?: string } | undefined): string | undefined {
  if (!s) return undefined;
  if (s.from) return s.from;
  return s.user && s.user.includes('@') ? s.user : undefined;
}

/** Wraps a Message-ID in angle brackets when it has none. */
export function normalizeMessageId(id: string): string {
  const t = id.trim();
  return t.startsWith('<') ? t : `<${t}>`;
}

/** nodemailer's message fields for an OutgoingMail. */
export function nodemailerMessage(mail: OutgoingMail, from: string): SendMailOptions {
  return {
    from: mail.fromName ? { name: mail.fromName, address: from } : from,
    replyTo: mail.replyTo,
    headers: mail.headers,
    dkim: mail.dkim,
    to: mail.to,
    subject: mail.subject,
    html: mail.html,
    text: mail.text,
    messageId: normalizeMessageId(mail.messageId),
    attachments: mail.attachments?.map((a) => ({ filename: a.filename, content: a.content, contentType: a.contentType })),
  };
}

/**
 * nodemailer, loaded by the first mail rather than at start (~4 MB of heap a service that has
 * sent nothing does not need: issue 15, idle memory).
 */
let nm: typeof import('nodemailer') | undefined;
export const nodemailer = (): typeof import('nodemailer') =>
  (nm ??= createRequire(import.meta.url)('nodemailer') as typeof import('nodemailer'));

const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 60_000 };

/** nodemailer's stream transport: the same composer and DKIM signer as SMTP, the bytes handed back. */
let composer: ReturnType<typeof newComposer> | undefined;
const newComposer = () => nodemailer().createTransport({ streamTransport: true, buffer: true, newline: 'windows' });

/**
 * Composes a message into its final bytes (DKIM-signed when `mail.dkim` is set) with the SMTP
 * envelope nodemailer derives from its headers: the bytes the dev mailbox stores (the same composer SMTP streams through).
 */
export async function composeMessage(mail: OutgoingMail, from: string): Promise<{ raw: Buffer; envelope: { from: string; to: string[] } }> {
  const info = await (composer ??= newComposer()).sendMail(nodemailerMessage(mail, from));
  return { raw: info.message as Buffer, envelope: info.envelope as { from: string; to: string[] } };
}

/** A cache of pooled transports, one per distinct SMTP settings. */
export class SmtpPools {
  private readonly pools = new Map<string, Transporter<SMTPPool.SentMessageInfo>>();

  constructor(private readonly pool: PoolOptions = {}) {}

  private get(options: SMTPPool.Options): Transporter<SMTPPool.SentMessageInfo> {
    const key = JSON.stringify(options);
    let t = this.pools.get(key);
    if (!t) {
      t = nodemailer().createTransport({
        ...TIMEOUTS,
        ...this.pool.timeouts,
        ...options,
        pool: true,
        maxConnections: this.pool.maxConnections ?? 5,
        maxMessages: this.pool.maxMessages ?? 1000,
      });
      this.pools.set(key, t);
    }
    return t;
  }

  /** Sends through the pool for `options`; throws TemporaryMailError or PermanentMailError. */
  async send(options: SMTPPool.Options, mail: OutgoingMail, from: string): Promise<SendResult> {
    try {
      // Streamed from the MIME tree, not composed first and written as one buffer: one buffer saved
      // CPU per claim (bench/claims.bench.ts) but the whole message then reaches the server at
      // once, so a connection cut in flight lands more often between the server's acceptance and
      // our reading its 250: the fleet test (test/fleet/fleet.test.ts) saw 5-6 duplicates in
      // 3,000 against 1 with streaming. Fewer duplicates are worth more than the CPU.
      const info = await this.get(options).sendMail(nodemailerMessage(mail, from));
      return { messageId: info.messageId ?? normalizeMessageId(mail.messageId), response: String(info.response ?? '') };
    } catch (err) {
      throw classifySmtpError(err);
    }
  }

  async close(): Promise<void> {
    for (const t of this.pools.values()) t.close();
    this.pools.clear();
  }
}

/** One message over a fresh, unpooled connection (the console's "send a test email"). */
export async function sendOnce(options: SMTPPool.Options, mail: OutgoingMail, from: string): Promise<SendResult> {
  const t = nodemailer().createTransport({ ...TIMEOUTS, ...options, pool: false } as SMTPPool.Options);
  try {
    const info = await t.sendMail(nodemailerMessage(mail, from));
    return { messageId: info.messageId ?? normalizeMessageId(mail.messageId), response: String(info.response ?? '') };
  } catch (err) {
    throw classifySmtpError(err);
  } finally {
    t.close();
  }
}
