/** Issued credentials (table issued_certificates): thin queries, one per method, optional transaction. */
import { sql, type Selectable } from 'kysely';
import type { DB, Executor } from '../../../platform/db/index.js';
import { compileOnce, slot } from '../../../platform/db/compiled-query.js';
import type { IssuedCertificateTable } from '../tables.js';
import '../tables.js';

export type IssuedRow = Selectable<IssuedCertificateTable>;

export interface NewIssued {
  publicId: string;
  campaignId: number;
  recipientId: number | null;
  name: string;
  number: string | null;
  fields: Record<string, string> | null;
  issuedAt: number;
}

/** Builds the repository. */
export function createIssuedRepo(db: DB) {
  // Each claim's queries, built and compiled once (compiled-query.ts).
  const byId = compileOnce<IssuedRow, { publicId: string }>(
    db.selectFrom('issued_certificates').selectAll().where('public_id', '=', slot<string>('publicId')),
  );
  const nextStatusIndex = compileOnce<{ status_next: number }, { campaignId: number }>(
    db
      .updateTable('campaigns')
      .set({ status_next: sql`status_next + 1` })
      .where('id', '=', slot<number>('campaignId'))
      .returning('status_next'),
  );
  const insertIssued = compileOnce<IssuedRow>(
    db
      .insertInto('issued_certificates')
      .values({
        public_id: slot<string>('publicId'),
        campaign_id: slot<number>('campaignId'),
        recipient_id: slot<number | null>('recipientId'),
        name: slot<string>('name'),
        number: slot<string | null>('number'),
        fields: slot<string | null>('fields'),
        issued_at: slot<number>('issuedAt'),
        status_index: slot<number>('statusIndex'),
        created_at: slot<number>('now'),
      })
      .returningAll(),
  );
  return {
    async byPublicId(publicId: string, ex: Executor = db): Promise<IssuedRow | undefined> {
      return byId.first(ex, { publicId });
    },
    async byPublicIds(ids: string[], ex: Executor = db): Promise<IssuedRow[]> {
      if (ids.length === 0) return [];
      return ex.selectFrom('issued_certificates').selectAll().where('public_id', 'in', ids).execute();
    },
    /** Every credential of a volunteer, newest first (history: current, superseded, revoked). */
    async ofRecipient(recipientId: number, ex: Executor = db): Promise<IssuedRow[]> {
      return ex.selectFrom('issued_certificates').selectAll().where('recipient_id', '=', recipientId).orderBy('id', 'desc').execute();
    },
    /**
     * Writes a credential with the campaign's next status-list position. The counter UPDATE locks
     * the campaign row (PostgreSQL) for the rest of the transaction, so positions never collide.
     */
    async insert(n: NewIssued, now: number, ex: Executor): Promise<IssuedRow> {
      const c = await nextStatusIndex.first(ex, { campaignId: n.campaignId });
      if (!c) throw new Error(`campaign ${n.campaignId} not found`);
      const row = await insertIssued.first(ex, {
        publicId: n.publicId,
        campaignId: n.campaignId,
        recipientId: n.recipientId,
        name: n.name,
        number: n.number,
        fields: n.fields && Object.keys(n.fields).length ? JSON.stringify(n.fields) : null,
        issuedAt: n.issuedAt,
        statusIndex: Number(c.status_next) - 1,
        now,
      });
      return row!;
    },

    /** Revokes (first revocation wins: a later one changes nothing); true when this call revoked it. */
    async revoke(publicId: string, reason: string, now: number, replacedBy: string | null, ex: Executor = db): Promise<boolean> {
      const r = await ex
        .updateTable('issued_certificates')
        .set({ revoked_at: now, revocation_reason: reason.slice(0, 500), replaced_by: replacedBy })
        .where('public_id', '=', publicId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    /** Status-list positions revoked in a campaign within [from, to) (the partial index). */
    async revokedIndexes(campaignId: number, from: number, to: number, ex: Executor = db): Promise<number[]> {
      const rows = await ex
        .selectFrom('issued_certificates')
        .select('status_index')
        .where('campaign_id', '=', campaignId)
        .where('revoked_at', 'is not', null)
        .where('status_index', '>=', from)
        .where('status_index', '<', to)
        .execute();
      return rows.map((r) => Number(r.status_index));
    },
    /** Keyset page (by status position: the (campaign_id, status_index) index) of a campaign's valid credentials. */
    async validAfter(campaignId: number, afterIndex: number, limit: number, ex: Executor = db): Promise<IssuedRow[]> {
      return ex
        .selectFrom('issued_certificates')
        .selectAll()
        .where('campaign_id', '=', campaignId)
        .where('revoked_at', 'is', null)
        .where('status_index', '>', afterIndex)
        .orderBy('status_index')
        .limit(limit)
        .execute();
    },
    async countValid(campaignId: number, ex: Executor = db): Promise<number> {
      const r = await ex
        .selectFrom('issued_certificates')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('campaign_id', '=', campaignId)
        .where('revoked_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
  };
}

export type IssuedRepo = ReturnType<typeof createIssuedRepo>;
