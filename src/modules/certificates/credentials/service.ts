/**
 * Credentials: what /verify/<id> and its documents show, the signed Open Badges credential, the
 * baked certificate files, revocation and reissue, the campaign status lists, issuer profiles
 * and the JWKS. A credential is read from its own row (issued_certificates), never from the
 * volunteer's current state, so a reset or a deleted volunteer leaves it verifiable.
 */
import type { CampaignRow } from '../campaigns-repo.js';
import { newCertificateId, type CertDeps } from '../deps.js';
import { CertError, notFound } from '../errors.js';
import { parseCustomFields, parseFieldValues } from '../import-columns.js';
import type { RecipientRow } from '../recipients-repo.js';
import { bakePng } from './bake.js';
import { SUPERSEDED } from './issue.js';
import type { KeyRing } from './keys.js';
import type { IssuedRepo, IssuedRow } from './repo.js';
import {
  buildCredential,
  buildStatusListCredential,
  credentialUrls,
  issuerProfile,
  signCredential,
  STATUS_LIST_SIZE,
  type CredentialFacts,
} from './vc.js';

/** Public ids are 22 base64url characters (deps.ts); older ones up to 40. */
const ID_RE = /^[A-Za-z0-9_-]{10,40}$/;
/** Status lists served per campaign: 131,072 entries each, so 100 lists cover 13 million credentials. */
const MAX_LISTS = 100;

export interface Located {
  row: IssuedRow;
  campaign: CampaignRow;
}

/** Builds the credential service. */
export function createCredentials(
  deps: Pick<CertDeps, 'db' | 'campaigns' | 'recipients' | 'renderer' | 'config' | 'now' | 'jobs'> & {
    issued: IssuedRepo;
    keys: KeyRing;
    deliverKind: string;
  },
) {
  const { db, campaigns, recipients, renderer, config, now, jobs, issued, keys } = deps;
  const urls = credentialUrls(config.publicUrl);

  function facts(row: IssuedRow, c: CampaignRow): CredentialFacts {
    return {
      publicId: row.public_id,
      campaignId: c.id,
      campaignName: c.name,
      organization: c.organization,
      website: c.website,
      hasLogo: Boolean(c.logo_sha),
      name: row.name,
      number: row.number,
      fields: parseFieldValues(row.fields),
      customFields: parseCustomFields(c.custom_fields),
      issuedAt: Number(row.issued_at),
      statusIndex: Number(row.status_index),
    };
  }

  /** `known`: a campaign the caller has read already, used when it is the credential's (no second read). */
  async function locate(publicId: string, known?: CampaignRow): Promise<Located | undefined> {
    if (!ID_RE.test(publicId)) return undefined;
    const row = await issued.byPublicId(publicId);
    if (!row) return undefined;
    const campaign = known && Number(known.id) === Number(row.campaign_id) ? known : await campaigns.find(Number(row.campaign_id));
    return campaign ? { row, campaign } : undefined;
  }

  async function require(publicId: string): Promise<Located> {
    const l = await locate(publicId);
    if (!l) throw notFound('certificate');
    return l;
  }

  /** The state of a credential as the console and the JSON views show it. */
  function state(row: IssuedRow) {
    return {
      id: row.public_id,
      status: row.revoked_at === null ? ('valid' as const) : ('revoked' as const),
      issuedAt: Number(row.issued_at),
      revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
      revocationReason: row.revocation_reason,
      replacedBy: row.replaced_by,
      name: row.name,
      verifyUrl: urls.credential(row.public_id),
    };
  }

  async function signed(l: Located) {
    const vc = buildCredential(facts(l.row, l.campaign), urls);
    return { vc, jwt: await signCredential(vc, await keys.active()) };
  }

  /** The certificate image of a credential, with the signed credential baked in (PNG iTXt / PDF attachment). */
  async function file(l: Located, format?: 'png' | 'pdf') {
    const { vc, jwt } = await signed(l);
    const f = format ?? (l.campaign.output === 'pdf' ? 'pdf' : 'png');
    const out = await renderer.render({
      campaign: l.campaign,
      name: l.row.name,
      number: l.row.number,
      issuedAt: Number(l.row.issued_at),
      verifyUrl: urls.credential(l.row.public_id),
      fields: parseFieldValues(l.row.fields),
      format: f,
      attachments:
        f === 'pdf'
          ? [
              {
                name: 'openbadgecredential.jwt',
                mime: 'application/vc+jwt',
                bytes: Buffer.from(jwt),
                description: 'Open Badges 3.0 credential (VC-JWT)',
              },
              {
                name: 'openbadgecredential.json',
                mime: 'application/vc+ld+json',
                bytes: Buffer.from(JSON.stringify(vc, null, 2)),
                description: 'Open Badges 3.0 credential (unsigned JSON-LD)',
              },
            ]
          : undefined,
    });
    const bytes = out.format === 'png' ? bakePng(out.bytes, jwt) : out.bytes;
    const base = (l.row.number ?? l.row.public_id).replace(/[^\w.-]+/g, '_');
    return {
      bytes,
      format: out.format,
      filename: `certificate-${base}.${out.format}`,
      contentType: out.format === 'pdf' ? 'application/pdf' : 'image/png',
    };
  }

  /** The verification view of a located credential. */
  function viewOf(l: Located) {
    const c = l.campaign;
    const s = state(l.row);
    return {
      certificateId: l.row.public_id,
      name: l.row.name,
      number: l.row.number,
      organization: c.organization,
      campaign: c.name,
      website: c.website,
      issuedAt: s.issuedAt,
      issuedOn: new Date(s.issuedAt).toISOString().slice(0, 10),
      status: s.status,
      revokedAt: s.revokedAt,
      revocationReason: s.revocationReason,
      replacedBy: s.replacedBy,
      fields: parseCustomFields(c.custom_fields)
        .map((f) => ({ key: f.key, label: f.label, value: parseFieldValues(l.row.fields)[f.key] ?? '' }))
        .filter((f) => f.value),
      logoUrl: c.logo_sha ? urls.logo(c.id) : null,
    };
  }

  return {
    urls,
    facts,
    locate,
    state,
    signed,
    file,
    /** The credential of a public id, for routes (404 when unknown). */
    require,
    /** The volunteer's current credential (their recipients.certificate_id). */
    async current(r: RecipientRow, campaign?: CampaignRow): Promise<Located | undefined> {
      return r.certificate_id ? locate(r.certificate_id, campaign) : undefined;
    },
    /** States of many credentials at once (one query per page of volunteers). */
    async states(ids: (string | null)[]) {
      const rows = await issued.byPublicIds(ids.filter((x): x is string => !!x));
      return new Map(rows.map((r) => [r.public_id, state(r)]));
    },
    /** The verification view (JSON and the page): who, what, when, and whether it still holds. */
    async view(publicId: string) {
      return viewOf(await require(publicId));
    },
    viewOf,
    /** Revokes a volunteer's current credential with a reason; 409 when there is none or it is revoked already. */
    async revoke(r: RecipientRow, reason: string) {
      const l = r.certificate_id ? await locate(r.certificate_id) : undefined;
      if (!l) throw new CertError(1, 'no_certificate', 'this volunteer has no certificate yet', 409);
      if (!(await issued.revoke(l.row.public_id, reason, now(), null))) {
        throw new CertError(1, 'already_revoked', 'this certificate is revoked already', 409);
      }
      return state((await issued.byPublicId(l.row.public_id))!);
    },
    /**
     * Reissues with a corrected name: a new credential (new id, issued now), the old one revoked as
     * "superseded" (its page links to the new one), and the new certificate mailed (deliver job).
     */
    async reissue(r: RecipientRow, name: string) {
      const prev = r.certificate_id ? await issued.byPublicId(r.certificate_id) : undefined;
      if (!prev || r.status < 2) throw new CertError(1, 'no_certificate', 'this volunteer has no certificate to reissue yet', 409);
      const publicId = newCertificateId();
      const t = now();
      await db.transaction().execute(async (trx) => {
        // Guard against a second reissue racing this one: only the current certificate can be replaced.
        const cur = await recipients.findById(r.id, trx);
        if (!cur || cur.certificate_id !== prev.public_id)
          throw new CertError(1, 'conflict', 'the certificate changed meanwhile; reload and try again', 409);
        await issued.insert(
          {
            publicId,
            campaignId: r.campaign_id,
            recipientId: r.id,
            name,
            number: cur.number,
            fields: parseFieldValues(cur.fields),
            issuedAt: t,
          },
          t,
          trx,
        );
        if (prev.revoked_at === null) await issued.revoke(prev.public_id, SUPERSEDED, t, publicId, trx);
        await recipients.reissued(r.id, name, publicId, t, trx);
        await jobs.enqueue(deps.deliverKind, { recipientId: r.id }, { trx, singletonKey: `${deps.deliverKind}:${r.id}` });
      });
      return state((await issued.byPublicId(publicId))!);
    },
    /** Every credential a volunteer was issued, newest first. */
    async history(r: RecipientRow) {
      return (await issued.ofRecipient(r.id)).map(state);
    },
    /** The issuer profile of a campaign (404 when unknown). */
    async issuer(campaignId: number) {
      const c = await campaigns.find(campaignId);
      if (!c) throw notFound('issuer');
      return {
        '@context': ['https://www.w3.org/ns/credentials/v2', 'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json'],
        ...issuerProfile(
          { campaignId: c.id, campaignName: c.name, organization: c.organization, website: c.website, hasLogo: Boolean(c.logo_sha) },
          urls,
        ),
      };
    },
    /** A campaign's status list credential `list` (1-based) and its VC-JWT. */
    async statusList(campaignId: number, list: number) {
      const c = await campaigns.find(campaignId);
      if (
        !c ||
        !Number.isInteger(list) ||
        list < 1 ||
        list > MAX_LISTS ||
        (list - 1) * STATUS_LIST_SIZE >= Math.max(STATUS_LIST_SIZE, Number(c.status_next))
      )
        throw notFound('status list');
      const from = (list - 1) * STATUS_LIST_SIZE;
      const revoked = (await issued.revokedIndexes(c.id, from, from + STATUS_LIST_SIZE)).map((i) => i - from);
      const profile = issuerProfile(
        { campaignId: c.id, campaignName: c.name, organization: c.organization, website: c.website, hasLogo: Boolean(c.logo_sha) },
        urls,
      );
      const vc = buildStatusListCredential(c.id, list, revoked, profile, now(), urls);
      return { vc, jwt: await signCredential(vc, await keys.active()) };
    },
    /** Every public key ever used (the JWKS). */
    async jwks() {
      await keys.active(); // the first request makes the first key, so the set is never empty
      return { keys: await keys.publicKeys() };
    },
  };
}

export type Credentials = ReturnType<typeof createCredentials>;
