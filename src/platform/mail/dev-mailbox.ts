/**
 * The dev mailbox: with no SMTP configured, every outgoing message is composed exactly as it
 * would go over SMTP (nodemailer's MailComposer) and the raw RFC 822 bytes are stored in
 * `dev_mailbox`, to be read over HTTP (routes-devmail.ts) or in tests.
 */
import type { DB, Executor } from '../db/index.js';
import { composeMessage, normalizeMessageId } from './smtp.js';
import './tables.js';
import type { OutgoingMail, SendResult } from './types.js';

/** Composes the raw message bytes nodemailer would send over SMTP (DKIM-signed when `mail.dkim` is set). */
export async function composeRaw(mail: OutgoingMail, from: string): Promise<Buffer> {
  return (await composeMessage(mail, from)).raw;
}

/** Stores one message; answers like an SMTP server would. */
export async function storeInDevMailbox(db: DB, mail: OutgoingMail, from: string, now: number): Promise<SendResult> {
  const raw = await composeRaw(mail, from);
  const messageId = normalizeMessageId(mail.messageId);
  const row = await db
    .insertInto('dev_mailbox')
    .values({ message_id: messageId, to_addr: mail.to, from_addr: from, subject: mail.subject, raw, created_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { messageId, response: `250 stored in the dev mailbox as message ${row.id}` };
}

export interface DevMailSummary {
  id: number;
  messageId: string;
  to: string;
  from: string;
  subject: string;
  createdAt: number;
}

interface DevMailRow {
  id: number | bigint;
  message_id: string;
  to_addr: string;
  from_addr: string;
  subject: string;
  created_at: number | bigint;
  raw: Uint8Array;
}

function present(r: DevMailRow): DevMailSummary & { raw: Buffer } {
  return {
    id: Number(r.id),
    messageId: r.message_id,
    to: r.to_addr,
    from: r.from_addr,
    subject: r.subject,
    createdAt: Number(r.created_at),
    raw: Buffer.from(r.raw),
  };
}

/** Thin repository over `dev_mailbox` for the HTTP API. */
export const devMailboxRepo = {
  /** Newest first; `before` is an id cursor. */
  async list(db: Executor, limit: number, before?: number): Promise<Array<DevMailSummary & { raw: Buffer }>> {
    let q = db
      .selectFrom('dev_mailbox')
      .select(['id', 'message_id', 'to_addr', 'from_addr', 'subject', 'created_at', 'raw'])
      .orderBy('id', 'desc')
      .limit(limit);
    if (before !== undefined) q = q.where('id', '<', before);
    const rows = await q.execute();
    return rows.map(present);
  },

  async get(db: Executor, id: number): Promise<(DevMailSummary & { raw: Buffer }) | undefined> {
    const r = await db.selectFrom('dev_mailbox').selectAll().where('id', '=', id).executeTakeFirst();
    return r && present(r);
  },

  async clear(db: Executor): Promise<number> {
    const r = await db.deleteFrom('dev_mailbox').executeTakeFirst();
    return Number(r.numDeletedRows);
  },
};
