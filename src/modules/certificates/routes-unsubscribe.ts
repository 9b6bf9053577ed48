/**
 * One-click unsubscribe (RFC 8058), public: the URL in a notice's List-Unsubscribe carries the
 * token (recipient id + HMAC). A POST whose body is `List-Unsubscribe=One-Click` (urlencoded or
 * multipart, as providers send it; no cookie, no login) stops this campaign's notices and
 * reminders for the volunteer, idempotently. A GET only shows a confirm page with a button:
 * link scanners open every URL in a mail and must not unsubscribe anyone.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { escapeHtml } from '../../platform/text/html.js';
import type { Services } from './services.js';

const CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

function page(reply: FastifyReply, status: number, title: string, body: string): string {
  reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('content-security-policy', CSP)
    .header('cache-control', 'no-store')
    .header('x-robots-tag', 'noindex');
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{font:16px/1.6 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1f2328}button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:6px;background:#0b57d0;color:#fff;cursor:pointer}.muted{color:#57606a}</style></head>
<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

export function registerUnsubscribeRoutes(app: FastifyInstance, svc: Services): void {
  app.register((scope, _opts, done) => {
    // Providers POST `List-Unsubscribe=One-Click` urlencoded (RFC 8058) or as multipart/form-data.
    scope.addContentTypeParser(
      ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'],
      { parseAs: 'string', bodyLimit: 4096 },
      (_req, body, done) => done(null, body),
    );
    const rr = scope.withTypeProvider<ZodTypeProvider>();
    const tags = ['certificates: one-click unsubscribe'];
    const params = z.object({ token: z.string().max(100) });

    async function lookup(token: string) {
      const rid = svc.deliverability.recipientOfToken(token);
      const r = rid === undefined ? undefined : await svc.deps.recipients.findById(rid);
      const c = r ? await svc.deps.campaigns.find(r.campaign_id) : undefined;
      return r && c ? { r, c } : undefined;
    }

    const notValid = (reply: FastifyReply) =>
      page(reply, 404, '链接无效 / Link not valid', '<p>这个退订链接无效。</p><p class="muted">This unsubscribe link is not valid.</p>');

    rr.get(
      '/unsubscribe/:token',
      {
        schema: {
          tags,
          summary: 'The confirm page of a List-Unsubscribe link (never unsubscribes by itself: link scanners open URLs)',
          params,
          produces: ['text/html'],
        },
      },
      async (req, reply) => {
        const hit = await lookup(req.params.token);
        if (!hit) return notValid(reply);
        const org = escapeHtml(hit.c.organization || hit.c.name);
        if (hit.r.unsubscribed_at !== null)
          return page(
            reply,
            200,
            '已退订 / Unsubscribed',
            `<p>你不会再收到 ${org} 这项活动的通知和提醒。</p><p class="muted">You will get no more notices or reminders of this campaign from ${org}.</p>`,
          );
        return page(
          reply,
          200,
          '退订通知 / Unsubscribe',
          `<p>不再接收 ${org} 这项活动（${escapeHtml(hit.c.name)}）的证书通知和提醒？已申请的证书仍会发送。</p>
<p class="muted">Stop notices and reminders of this campaign from ${org}? A certificate you already asked for is still sent.</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">退订 / Unsubscribe</button></form>`,
        );
      },
    );

    rr.post(
      '/unsubscribe/:token',
      {
        schema: {
          tags,
          summary:
            "RFC 8058 one-click unsubscribe: body `List-Unsubscribe=One-Click`; no login, idempotent; stops this campaign's notices and reminders (the certificate, once asked for, still goes)",
          params,
          produces: ['text/html'],
        },
      },
      async (req, reply) => {
        const hit = await lookup(req.params.token);
        if (!hit) return notValid(reply);
        const body = typeof req.body === 'string' ? req.body : '';
        if (!/List-Unsubscribe(=|"\r?\n\r?\n)One-Click/i.test(body)) {
          return page(
            reply,
            400,
            '请求不完整 / Incomplete request',
            '<p>缺少 List-Unsubscribe=One-Click。</p><p class="muted">The body must be List-Unsubscribe=One-Click (RFC 8058).</p>',
          );
        }
        await svc.deliverability.repo.unsubscribe(hit.r.id, svc.deps.now());
        const org = escapeHtml(hit.c.organization || hit.c.name);
        return page(
          reply,
          200,
          '已退订 / Unsubscribed',
          `<p>你不会再收到 ${org} 这项活动的通知和提醒。</p><p class="muted">You will get no more notices or reminders of this campaign from ${org}.</p>`,
        );
      },
    );
    done();
  });
}
