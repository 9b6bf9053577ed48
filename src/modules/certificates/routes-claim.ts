/**
 * Volunteer routes of the v2 API (by link token; unknown tokens are rate limited per address)
 * and the verification JSON; the public credential page and documents are in credentials/routes-public.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from './services.js';

const P = '/api/v2/certificates';
const tokenQuery = z.object({ token: z.string().max(500) });
const claimBody = z.object({ token: z.string().max(500), name: z.string().max(2000) }).strict();
const verifySchema = z.object({
  certificateId: z.string(),
  name: z.string(),
  number: z.string().nullable(),
  organization: z.string(),
  campaign: z.string(),
  website: z.string(),
  issuedAt: z.number(),
  issuedOn: z.string(),
  status: z.enum(['valid', 'revoked']),
  revokedAt: z.number().nullable(),
  revocationReason: z.string().nullable(),
  /** The credential that replaced this one (a corrected name). */
  replacedBy: z.string().nullable(),
  fields: z.array(z.object({ key: z.string(), label: z.string(), value: z.string() })),
  logoUrl: z.string().nullable(),
});

export function registerClaimRoutes(app: FastifyInstance, svc: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['certificates (v2, volunteer)'];

  r.get(
    `${P}/claim`,
    {
      schema: {
        tags,
        summary: 'What the claim page shows for a link',
        querystring: tokenQuery,
        response: {
          200: z.object({
            email: z.string(),
            name: z.string(),
            number: z.string().nullable().describe('the certificate number printed on the certificate (set by the organizer), or null'),
            status: z.number(),
            claimed: z.boolean(),
            organization: z.string(),
            campaignName: z.string(),
            certificateId: z.string().optional().describe('the verification id in the QR code (/verify/<id>), once the name is submitted'),
            downloadUrl: z.string().optional(),
            delivery: z
              .enum(['sending', 'failed', 'sent'])
              .nullable()
              .describe(
                'where the certificate mail is, once the name is submitted: being made and mailed, failed (being retried), or sent',
              ),
            deliveryFailure: z.string().optional().describe('why the certificate mail failed, while it is retried'),
          }),
        },
      },
    },
    async (req) => svc.claims.claimInfo(req.query.token, req.ip),
  );

  r.post(
    `${P}/claim/preview`,
    {
      schema: {
        tags,
        summary:
          'Preview JPEG (at most 400x566 pixels worth: 400x566 for an A4 portrait page, 566x400 landscape; at most 800 px wide) with a name and the QR code the certificate will carry; 30 per link and 120 per client per 10 minutes (429 rate_limited with Retry-After) (refused names: 422 name_refused with reason empty, too_long, control_chars, unsupported_chars (the font lacks them) or markup_chars, and the chars)',
        body: claimBody,
      },
    },
    async (req, reply) => {
      const out = await svc.claims.claimPreview(req.body.token, req.body.name, req.ip);
      return reply.type(out.contentType).header('cache-control', 'private, max-age=300').send(out.bytes);
    },
  );

  r.post(
    `${P}/claim`,
    {
      schema: {
        tags,
        summary: 'Submits the name; the certificate is rendered and mailed',
        body: claimBody,
        response: { 200: z.object({ status: z.number(), downloadUrl: z.string() }) },
      },
    },
    async (req) => {
      const rec = await svc.claims.submit(req.body.token, req.body.name, req.ip);
      return {
        status: rec.status,
        downloadUrl: `${svc.deps.config.publicUrl}${P}/claim/download?token=${encodeURIComponent(req.body.token)}`,
      };
    },
  );

  r.get(
    `${P}/claim/download`,
    {
      schema: {
        tags,
        summary: 'The certificate file (after the name is submitted); 20 per link and 60 per client per 10 minutes (429 rate_limited)',
        querystring: tokenQuery,
      },
    },
    async (req, reply) => {
      const f = await svc.claims.download(req.query.token, req.ip);
      return reply.type(f.contentType).header('content-disposition', `attachment; filename="${f.filename}"`).send(f.bytes);
    },
  );

  r.get(
    `${P}/verify/:certificateId`,
    {
      schema: {
        tags,
        summary: 'Who received a certificate, for what, when, and whether it still holds (revoked: when and why)',
        params: z.object({ certificateId: z.string().max(100) }),
        response: { 200: verifySchema },
      },
    },
    async (req) => svc.claims.verify(req.params.certificateId),
  );
}
