/**
 * Organizer routes for credentials (v2, admin token): revoke with a reason, reissue with a
 * corrected name, a volunteer's credential history, the issuer logo, key rotation, the ZIP of all
 * certificates and the print PDF. Registered inside the v2 admin scope (routes-v2.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { probeImage, verifyImage, ImageRejected } from './render/index.js';
import { createHash } from 'node:crypto';
import { CertError } from './errors.js';
import { credentialStateSchema, idParams, recipientSchema, ridParams } from './schemas.js';
import { recipientView } from './recipients-service.js';
import type { RecipientRow } from './recipients-repo.js';
import type { Services } from './services.js';
import { certificatesZip, printPdf } from './credentials/downloads.js';
import { readTemplateField } from './upload.js';

const P = '/api/v2/certificates';
/** Logos: small images (the page shows them 36 px high). */
const LOGO_MAX_BYTES = 2 * 1024 * 1024;
const LOGO_MAX_PIXELS = 4_000_000;
/** Most certificates in one print PDF (each page is a 300 dpi image of ~1 MB). */
const PRINT_MAX = 500;

/** The v2 Recipient with its current credential's state. */
export async function viewWithCertificate(svc: Services, r: RecipientRow) {
  const l = await svc.credentials.current(r);
  return recipientView(r, l ? svc.credentials.state(l.row) : null);
}

export function registerCredentialAdminRoutes(scope: FastifyInstance, svc: Services): void {
  const rr = scope.withTypeProvider<ZodTypeProvider>();
  const tags = ['certificates (v2, organizer)'];
  const security = [{ adminToken: [] }];
  const s = <T extends object>(o: T) => ({ tags, security, ...o });

  rr.post(
    `${P}/campaigns/:id/recipients/:rid/revoke`,
    {
      schema: s({
        summary:
          'Revokes the volunteer\'s current certificate: its page and credential then say "revoked on <date>: <reason>" (the status list is updated)',
        params: ridParams,
        body: z.object({ reason: z.string().trim().min(1, 'give a reason: it is shown on the certificate page').max(500) }).strict(),
        response: { 200: recipientSchema },
      }),
    },
    async (req) => {
      const c = await svc.campaign.resolve(req.params.id);
      const r = await svc.recipients.get(c, req.params.rid);
      await svc.credentials.revoke(r, req.body.reason);
      return viewWithCertificate(svc, r);
    },
  );

  rr.post(
    `${P}/campaigns/:id/recipients/:rid/reissue`,
    {
      schema: s({
        summary:
          'Reissues with a corrected name: a new certificate (new id) is made and mailed; the old one is revoked with reason "superseded" and its page links to the new one',
        params: ridParams,
        body: z.object({ name: z.string().max(2000) }).strict(),
        response: { 200: recipientSchema },
      }),
    },
    async (req) => {
      const c = await svc.campaign.resolve(req.params.id);
      const r = await svc.recipients.get(c, req.params.rid);
      await svc.credentials.reissue(r, svc.claims.validName(req.body.name));
      return viewWithCertificate(svc, await svc.recipients.get(c, r.id));
    },
  );

  rr.get(
    `${P}/campaigns/:id/recipients/:rid/credentials`,
    {
      schema: s({
        summary: 'Every certificate issued to a volunteer, newest first (valid, superseded, revoked)',
        params: ridParams,
        response: { 200: z.object({ items: z.array(credentialStateSchema) }) },
      }),
    },
    async (req) => {
      const c = await svc.campaign.resolve(req.params.id);
      return { items: await svc.credentials.history(await svc.recipients.get(c, req.params.rid)) };
    },
  );

  rr.put(
    `${P}/campaigns/:id/logo`,
    {
      schema: s({
        summary:
          'Uploads the issuer\'s logo (multipart field "logo"; PNG or JPEG by content, at most 2 MB and 4 megapixels): shown on certificate pages and named in credentials',
        params: idParams,
        response: { 200: z.object({ url: z.string(), type: z.enum(['png', 'jpeg']), width: z.number(), height: z.number() }) },
      }),
    },
    async (req) => {
      const c = await svc.campaign.resolve(req.params.id);
      const bytes = await readTemplateField(req, 'logo', LOGO_MAX_BYTES);
      let info;
      try {
        info = probeImage(bytes);
        if (info.width * info.height <= LOGO_MAX_PIXELS) await verifyImage(bytes); // whole file, decoded (issue 10 item 11)
      } catch (err) {
        if (err instanceof ImageRejected) throw new CertError(1, 'image_rejected', `logo rejected: ${err.message}`, 422);
        throw err;
      }
      if (info.width * info.height > LOGO_MAX_PIXELS)
        throw new CertError(1, 'image_rejected', 'logo rejected: more than 4 megapixels; a logo needs far fewer', 422);
      const sha = createHash('sha256').update(bytes).digest('hex');
      const t = svc.deps.now();
      await svc.deps.campaigns.putTemplate({ sha256: sha, type: info.type, width: info.width, height: info.height, bytes, created_at: t });
      await svc.deps.campaigns.update(c.id, { logo_sha: sha, logo_type: info.type, updated_at: t });
      return { url: svc.credentials.urls.logo(c.id), type: info.type, width: info.width, height: info.height };
    },
  );

  rr.delete(
    `${P}/campaigns/:id/logo`,
    { schema: s({ summary: 'Removes the issuer logo', params: idParams, response: { 204: z.null() } }) },
    async (req, reply) => {
      const c = await svc.campaign.resolve(req.params.id);
      await svc.deps.campaigns.update(c.id, { logo_sha: null, logo_type: null, updated_at: svc.deps.now() });
      return reply.status(204).send(null);
    },
  );

  rr.get(
    `${P}/campaigns/:id/certificates.zip`,
    {
      schema: s({
        summary: 'All valid certificates of the campaign as one ZIP (streamed; each file carries its signed credential)',
        params: idParams,
      }),
    },
    async (req, reply) => {
      const c = await svc.campaign.resolve(req.params.id);
      const n = await svc.deps.issued.countValid(c.id);
      if (n === 0) throw new CertError(1, 'no_certificates', 'no certificate has been issued in this campaign yet', 409);
      reply
        .type('application/zip')
        .header('content-disposition', `attachment; filename="${c.slug}-certificates.zip"`)
        .header('x-certificate-count', String(n));
      return reply.send(
        certificatesZip({ issued: svc.deps.issued, credentials: svc.credentials }, c, (err) =>
          req.log.error({ err }, 'certificate ZIP failed'),
        ),
      );
    },
  );

  rr.post(
    `${P}/campaigns/:id/certificates/print`,
    {
      schema: s({
        summary: `A print-ready PDF of chosen volunteers' certificates: one page each at 300 dpi (A4's long side), at most ${PRINT_MAX}`,
        params: idParams,
        body: z.object({ recipientIds: z.array(z.number().int().positive()).min(1).max(PRINT_MAX) }).strict(),
      }),
    },
    async (req, reply) => {
      const c = await svc.campaign.resolve(req.params.id);
      const rows = [];
      const missing: number[] = [];
      for (const rid of [...new Set(req.body.recipientIds)]) {
        const r = await svc.deps.recipients.findById(rid);
        const l = r && r.campaign_id === c.id ? await svc.credentials.current(r) : undefined;
        if (l) rows.push(l.row);
        else missing.push(rid);
      }
      if (missing.length)
        throw new CertError(
          1,
          'no_certificate',
          `no certificate for volunteer(s) ${missing.slice(0, 20).join(', ')} in this campaign`,
          409,
          { recipientIds: missing },
        );
      reply.type('application/pdf').header('content-disposition', `attachment; filename="${c.slug}-print.pdf"`);
      return reply.send(
        printPdf({ renderer: svc.deps.renderer, credentials: svc.credentials }, c, rows, (err) =>
          req.log.error({ err }, 'print PDF failed'),
        ),
      );
    },
  );

  rr.post(
    `${P}/keys/rotate`,
    {
      schema: s({
        summary:
          'Rotates the signing key: new credentials are signed with a new Ed25519 key; old keys stay in /.well-known/jwks.json so earlier credentials keep verifying',
        response: { 200: z.object({ kid: z.string(), retired: z.string().nullable() }) },
      }),
    },
    async () => svc.keys.rotate(),
  );
}
