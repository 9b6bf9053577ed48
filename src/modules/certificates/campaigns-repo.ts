/** Campaign and template rows: thin queries, one per method, each taking an optional transaction. */
import type { Insertable, Selectable, Updateable } from 'kysely';
import type { DB, Executor } from '../../platform/db/index.js';
import type { CampaignTable, CertificateTemplateTable } from './tables.js';
import './tables.js';

export type CampaignRow = Selectable<CampaignTable>;
export type CampaignPatch = Updateable<CampaignTable>;
export type TemplateRow = Selectable<CertificateTemplateTable>;

/** Builds the campaign repository over a database handle. */
export function createCampaignsRepo(db: DB) {
  return {
    /** By id (a number or a string of digits) or by slug. */
    async find(ref: string | number, ex: Executor = db): Promise<CampaignRow | undefined> {
      const q = ex.selectFrom('campaigns').selectAll();
      if (typeof ref === 'number' || /^\d{1,15}$/.test(ref)) return q.where('id', '=', Number(ref)).executeTakeFirst();
      return q.where('slug', '=', ref).executeTakeFirst();
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
        .set({ sending: to, updated_at: now, ...(to !== 'sending' ? { paused_until: null } : {}) })
        .where('id', '=', id)
        .where('sending', 'in', from)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
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
      await ex.insertInto('certificate_templates').values(row).onConflict((oc) => oc.column('sha256').doNothing()).execute();
    },
    async getTemplate(sha: string, ex: Executor = db): Promise<TemplateRow | undefined> {
      return ex.selectFrom('certificate_templates').selectAll().where('sha256', '=', sha).executeTakeFirst();
    },
  };
}

export type CampaignsRepo = ReturnType<typeof createCampaignsRepo>;
