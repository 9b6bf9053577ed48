/**
 * Public credential routes (no auth): the page /verify/<id>, its documents (.json / JWT, .png,
 * .pdf, preview.jpg), the page assets, the JWKS, issuer profiles, logos, achievements and the
 * Bitstring Status Lists. Errors use the v2 envelope {code, message}; an unknown id on the page
 * is a proper HTML 404 page.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../services.js';
import { credentialPage, notFoundPage, pickLang } from './page.js';
import { PAGE_ASSETS } from './page-assets.js';
import { achievement } from './vc.js';
import { parseCustomFields } from '../import-columns.js';
import { notFound } from '../errors.js';
import { registerPages } from '../../../platform/http/security-headers.js';

const VC_LD = 'application/vc+ld+json';
const VC_JWT = 'application/vc+jwt';
/** The credential page and its images: only same-origin files, nothing inline (the CSS and JS are files). */
/** The credential page's policy: it loads only its own script, style and pictures. */
const PAGE_CSP: Record<string, string[]> = {
  'default-src': ["'none'"],
  'img-src': ["'self'"],
  'style-src': ["'self'"],
  'script-src': ["'self'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"],
};

const idParams = z.object({ certificateId: z.string().max(100) });
const cidParams = z.object({
  campaignId: z.coerce
    .number()
    .int()
    .positive()
    .max(2 ** 31),
});

/** Whether the client asked for the JWT (Accept naming a JWT type before any JSON type, or ?format=jwt for a link). */
function wantsJwt(req: FastifyRequest): boolean {
  const q = (req.query as { format?: string } | undefined)?.format;
  if (q === 'jwt') return true;
  if (q === 'json') return false;
  const accept = String(req.headers.accept ?? '').toLowerCase();
  const jwt = accept.search(/application\/(vc\+)?jwt/);
  const json = accept.search(/application\/(vc\+ld\+json|ld\+json|json)/);
  return jwt >= 0 && (json < 0 || jwt < json);
}

function document(reply: FastifyReply, req: FastifyRequest, doc: { vc: unknown; jwt: string }, cache: string) {
  reply.header('cache-control', cache).header('vary', 'Accept').header('access-control-allow-origin', '*');
  if (wantsJwt(req)) return reply.type(VC_JWT).send(doc.jwt);
  return reply.type(VC_LD).send(JSON.stringify(doc.vc));
}

export function registerCredentialRoutes(app: FastifyInstance, svc: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['credentials (public)'];
  const cred = svc.credentials;
  const cfg = svc.deps.config;

  // The page in its own helmet scope (platform/http/security-headers.ts): its CSP and the other
  // page headers, with no hook on the JSON routes beside it.
  registerPages(app, { directives: PAGE_CSP }, (scope) => {
    scope.withTypeProvider<ZodTypeProvider>().get(
      '/verify/:certificateId',
      {
        schema: {
          tags,
          summary:
            'The credential page (HTML, zh/en by Accept-Language or ?lang=); JSON with Accept: application/json. Unknown id: a 404 page',
          params: idParams,
          querystring: z.object({ lang: z.enum(['zh', 'en']).optional() }),
        },
      },
      async (req, reply) => {
        const accept = String(req.headers.accept ?? '');
        if (/application\/json/.test(accept) && !/text\/html/.test(accept))
          return reply.type('application/json').send(JSON.stringify(await cred.view(req.params.certificateId)));
        const lang = pickLang(req.query.lang, req.headers['accept-language']);
        reply
          .header('vary', 'Accept, Accept-Language')
          .header('content-language', lang === 'zh' ? 'zh-CN' : 'en')
          .header('x-content-type-options', 'nosniff');
        const l = await cred.locate(req.params.certificateId);
        if (!l) return reply.status(404).type('text/html; charset=utf-8').send(notFoundPage(req.params.certificateId, lang));
        const v = cred.viewOf(l);
        const tpl = await svc.deps.renderer.template(l.campaign);
        const scale = Math.min(1, 1200 / tpl.width);
        reply.header('cache-control', 'no-cache');
        return reply
          .type('text/html; charset=utf-8')
          .send(
            credentialPage(
              { ...v, id: v.certificateId, width: Math.round(tpl.width * scale), height: Math.round(tpl.height * scale) },
              lang,
              cfg.publicUrl,
              cfg.timeZone,
            ),
          );
      },
    );
  });

  r.get(
    '/verify/:certificateId.json',
    {
      schema: {
        tags,
        summary:
          'The Open Badges 3.0 credential: application/vc+ld+json, or its VC-JWT (application/vc+jwt) with Accept: application/vc+jwt or ?format=jwt',
        params: idParams,
        querystring: z.object({ format: z.enum(['jwt', 'json']).optional() }),
      },
    },
    async (req, reply) => document(reply, req, await cred.signed(await cred.require(req.params.certificateId)), 'no-cache'),
  );

  for (const format of ['png', 'pdf'] as const) {
    r.get(
      `/verify/:certificateId.${format}`,
      {
        schema: {
          tags,
          summary: `The certificate as ${format.toUpperCase()}, the signed credential baked in (${format === 'png' ? 'iTXt chunk "openbadgecredential"' : 'embedded file'}); 20 per certificate and 60 per client per 10 minutes (429 rate_limited)`,
          params: idParams,
        },
      },
      async (req, reply) => {
        const l = await cred.require(req.params.certificateId);
        // A print-size render each time, for anyone holding the printed id: limited per certificate and client.
        await svc.claims.reserveFile(`credential:${l.row.public_id}`, req.ip);
        const f = await cred.file(l, format);
        return reply
          .type(f.contentType)
          .header('cache-control', 'no-cache')
          .header('content-disposition', `attachment; filename="${f.filename}"`)
          .send(f.bytes);
      },
    );
  }

  r.get(
    '/verify/:certificateId/preview.jpg',
    {
      schema: { tags, summary: 'A JPEG of the certificate (the page picture and the share card image)', params: idParams },
    },
    async (req, reply) => {
      const l = await cred.require(req.params.certificateId);
      const out = await svc.deps.renderer.preview({
        campaign: l.campaign,
        name: l.row.name,
        number: l.row.number,
        issuedAt: Number(l.row.issued_at),
        verifyUrl: cred.urls.credential(l.row.public_id),
        fields: cred.facts(l.row, l.campaign).fields,
      });
      return reply.type(out.contentType).header('cache-control', 'public, max-age=300').send(out.bytes);
    },
  );

  r.get('/verify/assets/:file', { schema: { hide: true, params: z.object({ file: z.string().max(100) }) } }, async (req, reply) => {
    const f = PAGE_ASSETS.files.get(req.params.file);
    if (!f) throw notFound('file');
    return reply
      .type(f.type)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .send(f.body);
  });

  r.get(
    '/.well-known/jwks.json',
    {
      schema: {
        tags,
        summary:
          "The instance's Ed25519 public keys (every key ever used stays listed, so credentials signed before a rotation keep verifying)",
      },
    },
    async (_req, reply) =>
      reply
        .type('application/jwk-set+json')
        .header('cache-control', 'public, max-age=300')
        .header('access-control-allow-origin', '*')
        .send(JSON.stringify(await cred.jwks())),
  );

  r.get(
    '/issuers/:campaignId',
    { schema: { tags, summary: 'The issuer profile a credential names (Open Badges 3.0 Profile)', params: cidParams } },
    async (req, reply) =>
      reply
        .type('application/ld+json')
        .header('access-control-allow-origin', '*')
        .send(JSON.stringify(await cred.issuer(req.params.campaignId))),
  );

  r.get('/issuers/:campaignId/logo', { schema: { tags, summary: "The issuer's logo", params: cidParams } }, async (req, reply) => {
    const c = await svc.deps.campaigns.find(req.params.campaignId);
    const img = c?.logo_sha ? await svc.deps.campaigns.getTemplate(c.logo_sha) : undefined;
    if (!img) throw notFound('logo');
    return reply
      .type(img.type === 'jpeg' ? 'image/jpeg' : 'image/png')
      .header('cache-control', 'public, max-age=300')
      .send(Buffer.from(img.bytes));
  });

  r.get(
    '/issuers/:campaignId/achievement',
    { schema: { tags, summary: 'The achievement (the campaign) credentials of this issuer award', params: cidParams } },
    async (req, reply) => {
      const c = await svc.deps.campaigns.find(req.params.campaignId);
      if (!c) throw notFound('achievement');
      const a = achievement(
        {
          campaignId: c.id,
          campaignName: c.name,
          organization: c.organization,
          customFields: parseCustomFields(c.custom_fields),
          hasLogo: Boolean(c.logo_sha),
        },
        cred.urls,
      );
      return reply
        .type('application/ld+json')
        .header('access-control-allow-origin', '*')
        .send(
          JSON.stringify({
            '@context': ['https://www.w3.org/ns/credentials/v2', 'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json'],
            ...a,
          }),
        );
    },
  );

  r.get(
    '/issuers/:campaignId/status/:list',
    {
      schema: {
        tags,
        summary:
          "A campaign's revocation list (W3C Bitstring Status List credential; its VC-JWT with Accept: application/vc+jwt or ?format=jwt)",
        params: cidParams.extend({ list: z.coerce.number().int().min(1).max(1000) }),
        querystring: z.object({ format: z.enum(['jwt', 'json']).optional() }),
      },
    },
    async (req, reply) => document(reply, req, await cred.statusList(req.params.campaignId, req.params.list), 'no-cache'),
  );
}
