/** Row types of the mail tables: the dev mailbox and the durable send counts behind the daily quota. */
import type { Generated } from 'kysely';

export interface DevMailboxTable {
  id: Generated<number>;
  message_id: string;
  to_addr: string;
  from_addr: string;
  subject: string;
  /** The full RFC 822 message as it would have gone over SMTP. */
  raw: Buffer;
  created_at: number;
}

export interface MailQuotaTable {
  /** '*' for the global quota, otherwise a sender's pacing key. */
  key: string;
  /** Start of a one-minute bucket (ms since the epoch). */
  bucket: number;
  count: number;
}

declare module '../db/tables.js' {
  interface Database {
    dev_mailbox: DevMailboxTable;
    mail_quota: MailQuotaTable;
  }
}
