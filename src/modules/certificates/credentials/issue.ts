/**
 * Issuing, inside the caller's transaction: the rules that decide whether a volunteer's claim
 * makes a new credential. Kept apart from the service so the claim and reset paths (claims.ts,
 * recipients-service.ts) can use them without an import cycle.
 */
import type { Executor } from '../../../platform/db/index.js';
import { newCertificateId } from '../deps.js';
import type { RecipientRow } from '../recipients-repo.js';
import { parseFieldValues } from '../import-columns.js';
import type { IssuedRepo, IssuedRow } from './repo.js';

/** The reason written when a corrected certificate replaces an earlier one. */
export const SUPERSEDED = 'superseded';

function sameFields(a: string | null, b: string | null): boolean {
  return JSON.stringify(parseFieldValues(a)) === JSON.stringify(parseFieldValues(b));
}

/**
 * What a claim with `name` issues for a volunteer: the credential they already hold when nothing
 * printed on it changes (a reset and a second claim with the same name keep the QR they have
 * valid), otherwise a new one. `commit` writes it after the recipient row was claimed.
 */
export async function planClaim(issued: IssuedRepo, r: RecipientRow, name: string, now: number, ex: Executor) {
  const prev = r.certificate_id ? await issued.byPublicId(r.certificate_id, ex) : undefined;
  const reuse = prev && prev.revoked_at === null && prev.name === name && prev.number === r.number && sameFields(prev.fields, r.fields);
  const publicId = reuse ? prev.public_id : newCertificateId();
  const issuedAt = reuse ? prev.issued_at : now;
  return {
    publicId,
    issuedAt,
    /** Writes the new credential (and supersedes the previous one), unless the previous one stays. */
    async commit(): Promise<void> {
      if (reuse) return;
      await issued.insert(
        { publicId, campaignId: r.campaign_id, recipientId: r.id, name, number: r.number, fields: parseFieldValues(r.fields), issuedAt },
        now,
        ex,
      );
      if (prev && prev.revoked_at === null) await issued.revoke(prev.public_id, SUPERSEDED, now, publicId, ex);
    },
  };
}

/**
 * Makes sure a volunteer at status 2+ with a certificate id has its credential row (rows imported
 * from the original's data.json, or set to 2+ by a reset, never went through a claim).
 */
export async function ensureIssued(issued: IssuedRepo, r: RecipientRow, now: number, ex: Executor): Promise<IssuedRow | undefined> {
  if (!r.certificate_id || !r.name || r.status < 2) return undefined;
  const have = await issued.byPublicId(r.certificate_id, ex);
  if (have) return have;
  return issued.insert(
    {
      publicId: r.certificate_id,
      campaignId: r.campaign_id,
      recipientId: r.id,
      name: r.name,
      number: r.number,
      fields: parseFieldValues(r.fields),
      issuedAt: r.issued_at ?? now,
    },
    now,
    ex,
  );
}
