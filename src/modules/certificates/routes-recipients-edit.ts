/**
 * Organizer routes that correct and remove volunteers (v2, admin token): edit one, delete one,
 * delete many. Registered inside the v2 admin scope (routes-v2.ts); rules in recipients-edit.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PermanentMailError, TemporaryMailError } from '../../platform/mail/types.js';
import { CertError } from './errors.js';
import { createRecipientEdits, MAX_BULK_DELETE } from './recipients-edit.js';
import { viewWithCertificate } from './routes-credentials-admin.js';
import { idParams, recipientSchema, ridParams } from './schemas.js';
import type { Services } from './services.js';

const P = '/api/v2/certificates';

const certificateChoice = z
  .enum(['keep', 'revoke'])
  .optional()
  .describe(
    'required when a volunteer holds a valid certificate: keep it verifiable at /verify/<id>, or revoke it (with `reason`, shown on its page)',
  );
const deleteResult = z.object({
  deleted: z.number(),
  certificatesKept: z.number(),
  certificatesRevoked: z.number(),
  missing: z.array(z.number()),
});

export function registerRecipientEditRoutes(scope: FastifyInstance, svc: Services): void {
  const rr = scope.withTypeProvider<ZodTypeProvider>();
  const tags = ['certificates (v2, organizer)'];
  const security = [{ adminToken: [] }];
  const s = <T extends object>(o: T) => ({ tags, security, ...o });
  const edits = createRecipientEdits(svc);

  rr.patch(
    `${P}/campaigns/:id/recipients/:rid`,
    {
      schema: s({
        summary:
          'Corrects a volunteer: email, name, number. A changed email is mailed only with notify=true (a volunteer mailed before gets a NEW link: the old one went to the wrong address). ' +
          'A changed name or number of a volunteer with a valid certificate reissues it (new id, mailed; the old one revoked as "superseded"). 409 email_taken.',
        params: ridParams,
        body: z
          .object({
            email: z.string().max(320).optional(),
            name: z.string().max(2000).nullable().optional(),
            number: z.string().max(200).nullable().optional(),
            notify: z.boolean().optional().describe('mail the volunteer at the changed address now'),
          })
          .strict(),
        response: { 200: recipientSchema.extend({ reissued: z.boolean(), notified: z.boolean() }) },
      }),
    },
    async (req) => {
      const c = await svc.campaign.resolve(req.params.id);
      const r = await svc.recipients.get(c, req.params.rid);
      let out;
      try {
        out = await edits.edit(c, r, req.body);
      } catch (err) {
        if (err instanceof PermanentMailError || err instanceof TemporaryMailError)
          throw new CertError(4, 'smtp_error', `saved, but the mail server refused the notice: ${err.message}`, 502);
        throw err;
      }
      return { ...(await viewWithCertificate(svc, out.row)), reissued: out.reissued, notified: out.notified };
    },
  );

  rr.delete(
    `${P}/campaigns/:id/recipients/:rid`,
    {
      schema: s({
        summary:
          'Deletes a volunteer. One holding a valid certificate needs ?certificate=keep|revoke (409 certificate_issued otherwise); a kept certificate stays verifiable',
        params: ridParams,
        querystring: z.object({ certificate: certificateChoice, reason: z.string().max(500).optional() }),
        response: { 200: deleteResult },
      }),
    },
    async (req) => {
      const c = await svc.campaign.resolve(req.params.id);
      await svc.recipients.get(c, req.params.rid);
      return edits.remove(c, [req.params.rid], req.query.certificate, req.query.reason);
    },
  );

  rr.post(
    `${P}/campaigns/:id/recipients/delete`,
    {
      schema: s({
        summary: `Deletes many volunteers at once (at most ${MAX_BULK_DELETE}); all or nothing: when some hold a valid certificate and no choice is given, nothing is deleted (409 certificate_issued with their ids)`,
        params: idParams,
        body: z
          .object({
            ids: z.array(z.number().int().positive()).min(1).max(MAX_BULK_DELETE),
            certificate: certificateChoice,
            reason: z.string().max(500).optional(),
          })
          .strict(),
        response: { 200: deleteResult },
      }),
    },
    async (req) => {
      const c = await svc.campaign.resolve(req.params.id);
      return edits.remove(c, req.body.ids, req.body.certificate, req.body.reason);
    },
  );
}
