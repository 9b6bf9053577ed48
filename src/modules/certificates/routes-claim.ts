/**
 * Volunteer routes of the v2 API (by link token; unknown tokens are rate limited per address)
 * and the public verification page /verify/:id (small self-contained HTML, or JSON on request).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { escapeHtml } from './mail-templates.js';
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
});

function verifyPage(v: z.infer<typeof verifySchema> | undefined, id: string): string {
  const body = v
    ? `<h1>Certificate verified / 证书有效</h1>
<dl><dt>Awarded to / 获得者</dt><dd>${escapeHtml(v.name)}</dd>
<dt>For / 活动</dt><dd>${escapeHtml(v.campaign)}${v.organization ? ` — ${escapeHtml(v.organization)}` : ''}</dd>
${v.number ? `<dt>Number / 编号</dt><dd>${escapeHtml(v.number)}</dd>` : ''}
<dt>Issued / 颁发日期</dt><dd>${escapeHtml(v.issuedOn)}</dd>
<dt>Certificate id</dt><dd><code>${escapeHtml(v.certificateId)}</code></dd></dl>`
    : `<h1>Not found / 未找到</h1><p>No certificate has the id <code>${escapeHtml(id.slice(0, 60))}</code>.</p>`;
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Certificate verification</title><style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}dt{color:#666;margin-top:.8rem}dd{margin:0;font-size:1.1rem}</style></head><body>${body}</body></html>`;
}

export function registerClaimRoutes(app: FastifyInstance, svc: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['certificates (v2, volunteer)'];

  r.get(`${P}/claim`, {
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
        }),
      },
    },
  }, async (req) => svc.claims.claimInfo(req.query.token, req.ip));

  r.post(`${P}/claim/preview`, { schema: { tags, summary: 'Preview PNG with a name and the QR code the certificate will carry (refused names: 422 name_refused with reason empty, too_long, control_chars, unsupported_chars (the font lacks them) or markup_chars, and the chars)', body: claimBody } }, async (req, reply) => {
    const out = await svc.claims.claimPreview(req.body.token, req.body.name, req.ip);
    return reply.type('image/png').send(out.bytes);
  });

  r.post(`${P}/claim`, {
    schema: { tags, summary: 'Submits the name; the certificate is rendered and mailed', body: claimBody, response: { 200: z.object({ status: z.number(), downloadUrl: z.string() }) } },
  }, async (req) => {
    const rec = await svc.claims.submit(req.body.token, req.body.name, req.ip);
    return { status: rec.status, downloadUrl: `${svc.deps.config.publicUrl}${P}/claim/download?token=${encodeURIComponent(req.body.token)}` };
  });

  r.get(`${P}/claim/download`, { schema: { tags, summary: 'The certificate file (after the name is submitted)', querystring: tokenQuery } }, async (req, reply) => {
    const f = await svc.claims.download(req.query.token, req.ip);
    return reply.type(f.contentType).header('content-disposition', `attachment; filename="${f.filename}"`).send(f.bytes);
  });

  r.get(`${P}/verify/:certificateId`, {
    schema: { tags, summary: 'Who received a certificate, for what, when', params: z.object({ certificateId: z.string().max(100) }), response: { 200: verifySchema } },
  }, async (req) => svc.claims.verify(req.params.certificateId));

  r.get('/verify/:certificateId', {
    schema: { tags, summary: 'Verification page (HTML; JSON with Accept: application/json)', params: z.object({ certificateId: z.string().max(100) }) },
  }, async (req, reply) => {
    const wantsJson = /application\/json/.test(String(req.headers.accept ?? '')) && !/text\/html/.test(String(req.headers.accept ?? ''));
    if (wantsJson) return reply.type('application/json').send(JSON.stringify(await svc.claims.verify(req.params.certificateId)));
    let v;
    try {
      v = await svc.claims.verify(req.params.certificateId);
    } catch {
      v = undefined;
    }
    reply.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'");
    return reply.status(v ? 200 : 404).type('text/html; charset=utf-8').send(verifyPage(v, req.params.certificateId));
  });
}
