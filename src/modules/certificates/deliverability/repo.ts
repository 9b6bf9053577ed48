/**
 * Tables of deliverability (issue 17): the Message-ID of each notice, one-click unsubscribes and
 * bounces on recipients, the blocklist of hard-bounced addresses, DKIM keys per sender domain.
 * One query per method.
 */
import { sql } from 'kysely';
import type { DB, Executor } from '../../../platform/db/index.js';
import '../tables.js';

export interface BlockedAddress {
  email: string;
  reason: string;
  campaignId: number | null;
  messageId: string | null;
  createdAt: number;
}

export function createDeliverabilityRepo(db: DB) {
  return {
    /** Remembers the Message-IDs of notices about to go out (a repeat of the same notice is a no-op). */
    async recordNotices(
      rows: { messageId: string; recipientId: number; campaignId: number }[],
      now: number,
      ex: Executor = db,
    ): Promise<void> {
      if (rows.length === 0) return;
      await ex
        .insertInto('notice_messages')
        .values(rows.map((r) => ({ message_id: r.messageId, recipient_id: r.recipientId, campaign_id: r.campaignId, created_at: now })))
        .onConflict((oc) => oc.column('message_id').doNothing())
        .execute();
    },
    async findNotice(messageId: string, ex: Executor = db) {
      return ex
        .selectFrom('notice_messages')
        .innerJoin('recipients', 'recipients.id', 'notice_messages.recipient_id')
        .select([
          'recipients.id as recipientId',
          'recipients.campaign_id as campaignId',
          'recipients.email as email',
          'recipients.status as status',
          'recipients.attempts as attempts',
        ])
        .where('notice_messages.message_id', '=', messageId)
        .executeTakeFirst();
    },
    /** Sets unsubscribed_at once; answers whether this call did it. */
    async unsubscribe(recipientId: number, now: number, ex: Executor = db): Promise<boolean> {
      const r = await ex
        .updateTable('recipients')
        .set({ unsubscribed_at: now, updated_at: now })
        .where('id', '=', recipientId)
        .where('unsubscribed_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async resubscribe(recipientId: number, now: number, ex: Executor = db): Promise<void> {
      await ex.updateTable('recipients').set({ unsubscribed_at: null, updated_at: now }).where('id', '=', recipientId).execute();
    },
    /** A hard bounce: failed with the remote reason (status unchanged, so `send` skips it). */
    async markBounced(recipientId: number, reason: string, now: number, ex: Executor = db): Promise<void> {
      await ex
        .updateTable('recipients')
        .set({ bounced_at: now, failure: reason.slice(0, 1000), failed_at: now, retry_at: null, pending_token: null, updated_at: now })
        .where('id', '=', recipientId)
        .execute();
    },
    /**
     * A soft bounce of a notice the server had accepted: back to 0 with the SAME link (the sealed
     * link becomes the pending one), retried not before `retryAt`.
     */
    async scheduleResendAfterSoftBounce(
      recipientId: number,
      attempts: number,
      retryAt: number,
      now: number,
      ex: Executor = db,
    ): Promise<void> {
      await ex
        .updateTable('recipients')
        .set({ status: 0, pending_token: sql`COALESCE(link_sealed, pending_token)`, attempts, retry_at: retryAt, updated_at: now })
        .where('id', '=', recipientId)
        .where('status', '=', 1)
        .execute();
    },
    async block(
      email: string,
      reason: string,
      campaignId: number | null,
      messageId: string | null,
      now: number,
      ex: Executor = db,
    ): Promise<void> {
      await ex
        .insertInto('mail_blocklist')
        .values({
          email: email.toLowerCase(),
          reason: reason.slice(0, 1000),
          campaign_id: campaignId,
          message_id: messageId,
          created_at: now,
        })
        .onConflict((oc) =>
          oc
            .column('email')
            .doUpdateSet({ reason: reason.slice(0, 1000), campaign_id: campaignId, message_id: messageId, created_at: now }),
        )
        .execute();
    },
    async unblock(email: string, ex: Executor = db): Promise<boolean> {
      const r = await ex.deleteFrom('mail_blocklist').where('email', '=', email.toLowerCase()).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async isBlocked(email: string, ex: Executor = db): Promise<boolean> {
      return !!(await ex.selectFrom('mail_blocklist').select('email').where('email', '=', email.toLowerCase()).executeTakeFirst());
    },
    /** Newest first; `q` = substring of the address. */
    async listBlocked(
      opts: { q?: string; limit: number; offset: number },
      ex: Executor = db,
    ): Promise<{ items: BlockedAddress[]; total: number }> {
      let base = ex.selectFrom('mail_blocklist');
      // Wildcards in q only widen the organizer's own search.
      if (opts.q) base = base.where('email', 'like', `%${opts.q.toLowerCase()}%`);
      const [rows, total] = await Promise.all([
        base.selectAll().orderBy('created_at', 'desc').orderBy('email').limit(opts.limit).offset(opts.offset).execute(),
        base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      ]);
      return {
        items: rows.map((r) => ({
          email: r.email,
          reason: r.reason,
          campaignId: r.campaign_id,
          messageId: r.message_id,
          createdAt: Number(r.created_at),
        })),
        total: Number(total.n),
      };
    },
    /** Opted-out, bounced and blocklisted volunteers of a campaign. */
    async counts(campaignId: number, ex: Executor = db): Promise<{ unsubscribed: number; bounced: number; blocked: number }> {
      const r = await ex
        .selectFrom('recipients')
        .select([
          sql<number>`SUM(CASE WHEN unsubscribed_at IS NULL THEN 0 ELSE 1 END)`.as('u'),
          sql<number>`SUM(CASE WHEN bounced_at IS NULL THEN 0 ELSE 1 END)`.as('b'),
          sql<number>`SUM(CASE WHEN EXISTS (SELECT 1 FROM mail_blocklist m WHERE m.email = recipients.email) THEN 1 ELSE 0 END)`.as('k'),
        ])
        .where('campaign_id', '=', campaignId)
        .executeTakeFirstOrThrow();
      return { unsubscribed: Number(r.u ?? 0), bounced: Number(r.b ?? 0), blocked: Number(r.k ?? 0) };
    },
    /** Which of these addresses are blocklisted. */
    async blockedAmong(emails: string[], ex: Executor = db): Promise<Set<string>> {
      if (emails.length === 0) return new Set();
      const rows = await ex.selectFrom('mail_blocklist').select('email').where('email', 'in', emails).execute();
      return new Set(rows.map((r) => r.email));
    },
    async dkimKeys(ex: Executor = db) {
      return ex.selectFrom('mail_dkim_keys').selectAll().orderBy('domain').execute();
    },
    async dkimKey(domain: string, ex: Executor = db) {
      return ex.selectFrom('mail_dkim_keys').selectAll().where('domain', '=', domain).executeTakeFirst();
    },
    async putDkimKey(
      row: { domain: string; selector: string; private_sealed: string; public_key: string },
      now: number,
      ex: Executor = db,
    ): Promise<void> {
      await ex
        .insertInto('mail_dkim_keys')
        .values({ ...row, created_at: now, updated_at: now })
        .onConflict((oc) =>
          oc
            .column('domain')
            .doUpdateSet({ selector: row.selector, private_sealed: row.private_sealed, public_key: row.public_key, updated_at: now }),
        )
        .execute();
    },
    async deleteDkimKey(domain: string, ex: Executor = db): Promise<boolean> {
      const r = await ex.deleteFrom('mail_dkim_keys').where('domain', '=', domain).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
  };
}

export type DeliverabilityRepo = ReturnType<typeof createDeliverabilityRepo>;
