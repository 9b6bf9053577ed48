/**
 * Correcting and removing volunteers (v2 API and console): edit email, name, number; delete one
 * or many. The rules (README "Editing and deleting volunteers"):
 * - a changed email is stored at once; the volunteer is mailed only when the organizer asks
 *   (`notify`): a volunteer who was mailed already gets a NEW link (the old one went to the wrong
 *   address), one not yet mailed gets the notice the next send would have sent;
 * - a changed name or number of a volunteer holding a valid certificate reissues it (new id,
 *   mailed; the old one revoked as "superseded", its page links to the new one);
 * - deleting a volunteer with a valid certificate needs a choice: `keep` (the certificate stays
 *   verifiable at /verify/<id>: the credential is its own row) or `revoke` (with a reason shown on
 *   its page). Without the choice nothing is deleted (409 `certificate_issued`).
 */
import { isUniqueViolation } from '../../platform/db/index.js';
import type { CampaignRow } from './campaigns-repo.js';
import { CertError, badInput } from './errors.js';
import { parseEmail } from './import-lines.js';
import type { RecipientRow } from './recipients-repo.js';
import type { Services } from './services.js';

/** Most volunteers in one bulk delete. */
export const MAX_BULK_DELETE = 10_000;
/** The reason shown on a certificate revoked because its volunteer was removed, when none is given. */
export const REMOVED_REASON = 'volunteer removed by the organizer';

export interface RecipientEdit {
  email?: string;
  name?: string | null;
  number?: string | null;
  /** Mail the volunteer at the new address now (only with a changed email). */
  notify?: boolean;
}

export type CertificateChoice = 'keep' | 'revoke';

export interface DeleteResult {
  deleted: number;
  certificatesKept: number;
  certificatesRevoked: number;
  /** Ids not found in this campaign (already deleted, or another campaign's). */
  missing: number[];
}

type Svc = Pick<Services, 'deps' | 'credentials' | 'sending' | 'claims' | 'recipients'>;

/** Builds the edit/delete use cases on top of the module's services. */
export function createRecipientEdits(svc: Svc) {
  const { db, recipients, issued, now } = svc.deps;

  async function hasValidCertificate(r: RecipientRow): Promise<boolean> {
    if (!r.certificate_id) return false;
    const row = await issued.byPublicId(r.certificate_id);
    return !!row && row.revoked_at === null;
  }

  return {
    /**
     * Applies an edit. Returns the updated row and what followed (`reissued`, `notified`).
     * 409 `email_taken` when the new email is another volunteer's in this campaign.
     */
    async edit(c: CampaignRow, r: RecipientRow, e: RecipientEdit): Promise<{ row: RecipientRow; reissued: boolean; notified: boolean }> {
      const email = e.email === undefined ? undefined : parseEmail(e.email);
      if (e.email !== undefined && !email) throw badInput('email: not a valid email address', { field: 'email' });
      const number = e.number === undefined ? undefined : e.number === null || e.number.trim() === '' ? null : e.number.trim();
      if (number && number.length > 100) throw badInput('number: at most 100 characters', { field: 'number' });
      // A name is checked like the claim page checks it (drawable, no markup); empty clears it.
      const name = e.name === undefined ? undefined : e.name === null || e.name.trim() === '' ? null : svc.claims.validName(e.name);
      const emailChanged = email !== undefined && email !== r.email;
      const nameChanged = name !== undefined && name !== r.name;
      const numberChanged = number !== undefined && number !== r.number;
      if (e.notify && !emailChanged)
        throw badInput('notify: only with a changed email (a reminder to the same address is "resend")', { field: 'notify' });
      const certified = (nameChanged || numberChanged) && (await hasValidCertificate(r));
      if (certified && name === null)
        throw badInput('name: a volunteer with a certificate keeps a name (revoke the certificate to withdraw it)', { field: 'name' });
      const patch: Record<string, unknown> = {};
      if (emailChanged) patch.email = email;
      if (numberChanged) patch.number = number;
      // With a certificate the name changes through the reissue (which stores it with the new credential).
      if (nameChanged && !certified) patch.name = name;
      if (Object.keys(patch).length) {
        try {
          await db
            .updateTable('recipients')
            .set({ ...patch, updated_at: now() })
            .where('id', '=', r.id)
            .execute();
        } catch (err) {
          if (isUniqueViolation(err))
            throw new CertError(1, 'email_taken', `${email} is already a volunteer of this campaign`, 409, { field: 'email' });
          throw err;
        }
      }
      let row = (await recipients.findById(r.id))!;
      if (certified) {
        await svc.credentials.reissue(row, name ?? row.name!);
        row = (await recipients.findById(r.id))!;
      }
      let notified = false;
      if (emailChanged && e.notify) {
        // Mailed before: that link went to the old address, so the new address gets a new one.
        await svc.sending.resendOne(c, row, { newLink: row.notice_count > 0 || row.token_hash !== null });
        notified = true;
        row = (await recipients.findById(r.id))!;
      }
      return { row, reissued: certified, notified };
    },

    /**
     * Deletes volunteers of a campaign. A volunteer with a valid certificate is deleted only with
     * a `certificate` choice; otherwise nothing at all is deleted (409 `certificate_issued`,
     * with the ids that hold one), so a bulk delete never half-happens.
     */
    async remove(c: CampaignRow, ids: readonly number[], choice?: CertificateChoice, reason?: string): Promise<DeleteResult> {
      const unique = [...new Set(ids)];
      if (unique.length > MAX_BULK_DELETE) throw badInput(`at most ${MAX_BULK_DELETE} volunteers per delete`);
      const rows: RecipientRow[] = [];
      for (let i = 0; i < unique.length; i += 500) {
        rows.push(
          ...(await db
            .selectFrom('recipients')
            .selectAll()
            .where('campaign_id', '=', c.id)
            .where('id', 'in', unique.slice(i, i + 500))
            .execute()),
        );
      }
      const found = new Set(rows.map((r) => Number(r.id)));
      const missing = unique.filter((id) => !found.has(id));
      const certIds = rows.flatMap((r) => (r.certificate_id ? [r.certificate_id] : []));
      const valid = new Set<string>();
      for (let i = 0; i < certIds.length; i += 500) {
        for (const x of await issued.byPublicIds(certIds.slice(i, i + 500))) if (x.revoked_at === null) valid.add(x.public_id);
      }
      const holders = rows.filter((r) => r.certificate_id && valid.has(r.certificate_id));
      if (holders.length && !choice) {
        throw new CertError(
          1,
          'certificate_issued',
          `${holders.length} of these volunteers hold a certificate: choose to keep it verifiable or to revoke it`,
          409,
          {
            recipientIds: holders.map((r) => Number(r.id)).slice(0, 1000),
            count: holders.length,
          },
        );
      }
      const t = now();
      await db.transaction().execute(async (trx) => {
        if (choice === 'revoke') {
          for (const r of holders) await issued.revoke(r.certificate_id!, (reason ?? '').trim() || REMOVED_REASON, t, null, trx);
        }
        const all = rows.map((r) => Number(r.id));
        for (let i = 0; i < all.length; i += 500) {
          // Their credentials stay (recipient_id set null by the foreign key), so /verify/<id> answers.
          await trx
            .deleteFrom('recipients')
            .where('campaign_id', '=', c.id)
            .where('id', 'in', all.slice(i, i + 500))
            .execute();
        }
      });
      return {
        deleted: rows.length,
        certificatesKept: choice === 'revoke' ? 0 : holders.length,
        certificatesRevoked: choice === 'revoke' ? holders.length : 0,
        missing,
      };
    },
  };
}

export type RecipientEdits = ReturnType<typeof createRecipientEdits>;
