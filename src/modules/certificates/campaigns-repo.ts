/** Campaign and template rows: thin queries, one per method, each taking an optional transaction. */
import { sql } from 'kysely';
import type { Insertable, Selectable, Updateable } from 'kysely';
import type { DB, Executor } from '../../platform/db/index.js';
import { compileOnce, slot } from '../../platform/db/compiled-query.js';
import type { CampaignTable, CertificateTemplateTable } from './tables.js';
import './tables.js';

export type CampaignRow = Selectable<CampaignTable>;
export type CampaignPatch = Updateable<CampaignTable>;
export type TemplateRow = Selectable<CertificateTemplateTable>;

/** Builds the campaign repository over a database handle. */
export function createCampaignsRepo(db: DB) {
  // By id: read by every certificate's deliver job; built and compiled once (compiled-query.ts).
  const byId = compileOnce<CampaignRow, { id: number }>(db.selectFrom('campaigns').selectAll().where('id', '=', slot<number>('id')));
  return {
    /** By id (a number or a string of digits) or by slug. */
    async find(ref: string | number, ex: Executor = db): Promise<CampaignRow | undefined> {
      if (typeof ref === 'number' || /^\d{1,15}$/.test(ref)) return byId.first(ex, { id: Number(ref) });
      return ex.selectFrom('campaigns').selectAll().where('slug', '=', ref).executeTakeFirst();
    },
    async list(archived: boolean | undefined, ex: Executor = db): Promise<CampaignRow[]> {
      let q = ex.selectFrom('campaigns').selectAll().orderBy('id');
      if (archived !== undefined) q = q.where('archived', '=', archived ? 1 : 0);
      return q.execute();
    },
    async create(row: Insertable<CampaignTable>, ex: Executor = db): Promise<CampaignRow> {
      return ex.insertInto('campaigns').values(row).returningAll().executeTakeFirstOrThrow();
    },
    async update(id: number, patch: CampaignPatch, ex: Executor = db): Promise<void> {
      await ex.updateTable('campaigns').set(patch).where('id', '=', id).execute();
    },
    /** Changes `sending` only from one of `from` (so a pause is not undone by a finishing job). */
    async setSending(id: number, to: string, from: string[], now: number, ex: Executor = db): Promise<boolean> {
      const r = await ex
        .updateTable('campaigns')
        .set({ sending: to, updated_at: now, ...(to !== 'sending' ? { paused_until: null, pause_reason: null, outage_probes: 0 } : {}) })
        .where('id', '=', id)
        .where('sending', 'in', from)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    /**
     * An SMTP outage begins: sending waits until `until` (the first probe). Only the first to see
     * it records it (the others find the campaign paused already); answers whether this call did.
     */
    async startOutage(id: number, reason: string, until: number, ex: Executor = db): Promise<boolean> {
      const r = await ex
        .updateTable('campaigns')
        .set({ pause_reason: reason.slice(0, 1000), paused_until: until, outage_probes: 0 })
        .where('id', '=', id)
        .where('pause_reason', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    /**
     * Takes the next probe of an outage: moves `paused_until` from the value this batch saw to the
     * probe after, so exactly one batch of the fleet probes; answers whether this call won.
     */
    async claimProbe(id: number, seenUntil: number, nextUntil: number, ex: Executor = db): Promise<boolean> {
      const r = await ex
        .updateTable('campaigns')
        .set({ paused_until: nextUntil, outage_probes: sql`outage_probes + 1` })
        .where('id', '=', id)
        .where('paused_until', '=', seenUntil)
        .where('pause_reason', 'is not', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    /** A probe failed: the reason shown is the latest error. */
    async setPauseReason(id: number, reason: string, ex: Executor = db): Promise<void> {
      await ex
        .updateTable('campaigns')
        .set({ pause_reason: reason.slice(0, 1000) })
        .where('id', '=', id)
        .where('pause_reason', 'is not', null)
        .execute();
    },
    /** The SMTP server answers again (or the organizer resumes): no pause. */
    async endOutage(id: number, ex: Executor = db): Promise<void> {
      await ex.updateTable('campaigns').set({ pause_reason: null, paused_until: null, outage_probes: 0 }).where('id', '=', id).execute();
    },
    /** Campaigns left `sending` (a process died or stopped): their send jobs are re-enqueued at start. */
    /** Campaigns (not archived) with their own bounce mailbox. */
    async withBounceMailbox(ex: Executor = db): Promise<CampaignRow[]> {
      return ex.selectFrom('campaigns').selectAll().where('bounce_imap', 'is not', null).where('archived', '=', 0).execute();
    },
    async listSending(ex: Executor = db): Promise<{ id: number }[]> {
      return ex.selectFrom('campaigns').select('id').where('sending', '=', 'sending').execute();
    },
    async putTemplate(row: CertificateTemplateTable, ex: Executor = db): Promise<void> {
      await ex
        .insertInto('certificate_templates')
        .values(row)
        .onConflict((oc) => oc.column('sha256').doNothing())
        .execute();
    },
    async getTemplate(sha: string, ex: Executor = db): Promise<TemplateRow | undefined> {
      return ex.selectFrom('certificate_templates').selectAll().where('sha256', '=', sha).executeTakeFirst();
    },
  };
}

export type CampaignsRepo = ReturnType<typeof createCampaignsRepo>;
