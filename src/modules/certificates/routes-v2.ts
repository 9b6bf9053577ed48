/**
 * The v2 REST API for the organizer console (see the contract in README.md): campaigns,
 * template, preview, recipients, sending and progress (SSE), mail test and preview.
 * Admin routes need `Authorization: Bearer <admin token>`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RateLimitedError, UnauthorizedError } from '../../platform/http/errors.js';
import { PermanentMailError, TemporaryMailError } from '../../platform/mail/types.js';
import type { AdminAuth } from './admin-token.js';
import { csvToLines } from './import-lines.js';
import {
  campaignPatchSchema,
  campaignSchema,
  idParams,
  importResultSchema,
  layoutEditsSchema,
  progressSchema,
  recipientSchema,
  ridParams,
} from './schemas.js';
import type { Services } from './services.js';
import { CertError } from './errors.js';
import { readTemplateField } from './upload.js';
import { parseCustomFields } from './import-columns.js';
import { registerCredentialAdminRoutes, viewWithCertificate } from './routes-credentials-admin.js';
import { registerRecipientEditRoutes } from './routes-recipients-edit.js';
import { registerImportRoutes } from './routes-import.js';
import { registerDeliverabilityRoutes } from './routes-deliverability.js';

const P = '/api/v2/certificates';

/** Registers the admin routes of the v2 API inside an auth-checking context. */
export function registerV2Routes(app: FastifyInstance, svc: Services, admin: AdminAuth): void {
  app.register(async (scope) => {
    scope.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string', bodyLimit: 16 * 1024 * 1024 }, (_req, body, done) =>
      done(null, body),
    );
    scope.addHook('onRequest', async (req: FastifyRequest) => {
      const h = req.headers.authorization;
      const token = typeof h === 'string' && /^Bearer\s+/i.test(h) ? h.replace(/^Bearer\s+/i, '').trim() : undefined;
      const c = await admin.check(token, req.ip);
      if (c.ok) return;
      if (c.reason === 'rate_limited')
        throw new RateLimitedError(c.retryAfterMs ?? 60_000, 'too many wrong admin tokens from this address; try again later');
      throw new UnauthorizedError(c.reason === 'missing' ? 'admin token required (Authorization: Bearer <token>)' : 'wrong admin token');
    });
    routes(scope.withTypeProvider<ZodTypeProvider>(), svc);
    registerCredentialAdminRoutes(scope, svc);
    registerRecipientEditRoutes(scope, svc);
    registerImportRoutes(scope, svc);
    registerDeliverabilityRoutes(scope, svc);
  });
}

function routes(r: ReturnType<FastifyInstance['withTypeProvider']> & FastifyInstance, svc: Services): void {
  const tags = ['certificates (v2, organizer)'];
  const security = [{ adminToken: [] }];
  const s = <T extends object>(o: T) => ({ tags, security, ...o });
  const rr = r.withTypeProvider<ZodTypeProvider>();

  rr.get(
    `${P}/session`,
    {
      schema: s({
        summary: 'Checks the admin token; says where mail goes (the console shows a banner for the dev mailbox)',
        response: {
          200: z.object({
            ok: z.literal(true),
            mail: z.enum(['smtp', 'dev-mailbox']).describe('dev-mailbox: no SMTP_URL, nothing reaches anyone; see /dev/mail'),
          }),
        },
      }),
    },
    async () => ({ ok: true as const, mail: svc.deps.config.isSmtpConfigured ? ('smtp' as const) : ('dev-mailbox' as const) }),
  );

  rr.get(
    `${P}/campaigns`,
    {
      schema: s({
        summary: 'Lists campaigns',
        querystring: z.object({ archived: z.enum(['true', 'false']).optional() }),
        response: { 200: z.object({ campaigns: z.array(campaignSchema) }) },
      }),
    },
    async (req) => ({ campaigns: await svc.campaign.list(req.query.archived === undefined ? undefined : req.query.archived === 'true') }),
  );

  rr.post(
    `${P}/campaigns`,
    {
      schema: s({
        summary: 'Creates a campaign',
        body: z.object({ name: z.string().trim().min(1).max(200), slug: z.string().max(63).optional() }).strict(),
        response: { 201: campaignSchema },
      }),
    },
    async (req, reply) => reply.status(201).send(await svc.campaign.create(req.body)),
  );

  rr.get(
    `${P}/campaigns/:id`,
    { schema: s({ summary: 'One campaign', params: idParams, response: { 200: campaignSchema } }) },
    async (req) => svc.campaign.view(await svc.campaign.resolve(req.params.id)),
  );

  rr.patch(
    `${P}/campaigns/:id`,
    {
      schema: s({
        summary: 'Changes settings (layout edits merge field by field; smtp.password is stored sealed and never returned)',
        params: idParams,
        body: campaignPatchSchema,
        response: { 200: campaignSchema },
      }),
    },
    async (req) => svc.campaign.patch(await svc.campaign.resolve(req.params.id), req.body),
  );

  for (const [path, archived] of [
    ['archive', true],
    ['unarchive', false],
  ] as const) {
    rr.post(
      `${P}/campaigns/:id/${path}`,
      { schema: s({ summary: `${archived ? 'Archives' : 'Unarchives'} a campaign`, params: idParams, response: { 200: campaignSchema } }) },
      async (req) => svc.campaign.setArchived(await svc.campaign.resolve(req.params.id), archived),
    );
  }

  rr.put(
    `${P}/campaigns/:id/template`,
    {
      schema: s({
        summary: 'Uploads the template (multipart field "template"; PNG or JPEG by content; <= 20 MB, <= 40 megapixels)',
        params: idParams,
        response: { 200: z.object({ width: z.number(), height: z.number(), type: z.enum(['png', 'jpeg']) }) },
      }),
    },
    async (req) => {
      const c = await svc.campaign.resolve(req.params.id);
      return svc.campaign.setTemplate(c, await readTemplateField(req));
    },
  );

  rr.get(`${P}/campaigns/:id/template`, { schema: s({ summary: 'The template image', params: idParams }) }, async (req, reply) => {
    const t = await svc.campaign.templateBytes(await svc.campaign.resolve(req.params.id));
    if (!t) throw new CertError(1, 'not_found', 'no template uploaded yet', 404);
    return reply.type(t.type === 'jpeg' ? 'image/jpeg' : 'image/png').send(t.bytes);
  });

  rr.post(
    `${P}/campaigns/:id/preview`,
    {
      schema: s({
        summary: 'Renders a preview PNG with unsaved layout edits and a sample name',
        params: idParams,
        body: z
          .object({
            name: z.string().max(2000).optional(),
            number: z.string().max(100).optional(),
            layout: layoutEditsSchema.optional(),
            fields: z.record(z.string().max(40), z.string().max(200)).optional(),
          })
          .strict()
          .optional(),
      }),
    },
    async (req, reply) => {
      const c = await svc.campaign.resolve(req.params.id);
      const b = req.body ?? {};
      const name = svc.claims.validName(b.name ?? '张三 Sample');
      // Custom fields show their column title unless sample values are given.
      const fields = b.fields ?? Object.fromEntries(parseCustomFields(c.custom_fields).map((f) => [f.key, f.label]));
      const out = await svc.deps.renderer.render({
        campaign: c,
        name,
        number: b.number ?? 'NO-0001',
        issuedAt: svc.deps.now(),
        layoutEdits: b.layout,
        format: 'png',
        verifyUrl: `${svc.deps.config.publicUrl}/verify/sample`,
        fields,
      });
      return reply.type('image/png').send(out.bytes);
    },
  );

  rr.post(
    `${P}/campaigns/:id/recipients`,
    {
      bodyLimit: 16 * 1024 * 1024,
      schema: s({
        summary:
          'Imports volunteers: {lines: ["email[,number[,name]]", ...]} or a text/csv body. A first line naming the columns (email, number, name and any others: role, hours, ...) ' +
          'maps them by name; other columns become custom fields. `columns` gives that header for batches after the first.',
        params: idParams,
        body: z.union([
          z
            .object({ lines: z.array(z.string().max(5000)).max(100_000), columns: z.array(z.string().max(100)).max(60).optional() })
            .strict(),
          z.string().max(16 * 1024 * 1024),
        ]),
        response: { 200: importResultSchema },
      }),
    },
    async (req) => {
      const c = await svc.campaign.resolve(req.params.id);
      if (typeof req.body === 'string') return svc.recipients.importLines(c, csvToLines(req.body));
      return svc.recipients.importLines(c, req.body.lines, req.body.columns);
    },
  );

  rr.get(
    `${P}/campaigns/:id/recipients`,
    {
      schema: s({
        summary:
          'Lists volunteers in the order they were added, a page at a time: by cursor (`next` / `prev` of a page: any page as fast as the first), `last=true` (the last page), or page number (`page`: each page before it is skipped, slower the deeper it is). ' +
          'q finds a substring of the email, name or number (case-insensitive); a search counts up to 10,000 matches (totalCapped: true beyond); one of 1-2 characters looks at the first 20,000 volunteers only (searchedRows); ' +
          'one of 3 or more right after a large import (SQLite: while the search index catches up, seconds) looks at the indexed volunteers and the newest 20,000 not indexed yet, and says how many it did not look at (indexingRows)',
        params: idParams,
        querystring: z.object({
          q: z.string().max(320).optional(),
          status: z.coerce.number().int().min(0).max(4).optional(),
          failed: z.enum(['true', 'false']).optional(),
          page: z.coerce
            .number()
            .int()
            .min(1)
            .max(1_000_000)
            .default(1)
            .describe("page number (from 1); with a cursor only echoed in the answer (the client's count); ignored with last=true"),
          cursor: z
            .string()
            .max(40)
            .optional()
            .describe(
              'the `next` or `prev` of a page of the same list (same q, status, failed, limit): the page after or before it. Volunteers added or deleted meanwhile shift no row: none is skipped or shown twice',
            ),
          last: z.enum(['true', 'false']).optional().describe('true: the last page (read from the end); not with cursor'),
          limit: z.coerce.number().int().min(1).max(500).default(50),
        }),
        response: {
          200: z.object({
            items: z.array(recipientSchema),
            total: z.number(),
            totalCapped: z.boolean().optional().describe('true: more than `total` match (a search counts up to 10,000)'),
            searchedRows: z
              .number()
              .optional()
              .describe(
                'a search of 1-2 characters looked at this many volunteers only, the first in list order (3 or more characters search all)',
              ),
            indexingRows: z
              .number()
              .optional()
              .describe(
                'a search of 3 or more characters right after a large import: at most this many volunteers (the oldest the search index has not reached yet) were not looked at; absent once the index has caught up (seconds), when the answer is complete',
              ),
            next: z.string().nullable().describe('cursor of the page after this one; null: none after it'),
            prev: z.string().nullable().describe('cursor of the page before this one; null: this is the first page'),
            page: z
              .number()
              .describe(
                "the page number asked for; with last=true the last page's number; with a cursor the `page` sent beside it (the client's own count, 1 if none)",
              ),
            limit: z.number(),
          }),
        },
      }),
    },
    async (req) => {
      const c = await svc.campaign.resolve(req.params.id);
      return svc.recipients.list(c, { ...req.query, failed: req.query.failed === 'true', last: req.query.last === 'true' }, (ids) =>
        svc.credentials.states(ids),
      );
    },
  );

  rr.get(
    `${P}/campaigns/:id/recipients.csv`,
    { schema: s({ summary: 'Exports volunteers as CSV (streamed)', params: idParams }) },
    async (req, reply) => {
      const c = await svc.campaign.resolve(req.params.id);
      const { Readable } = await import('node:stream');
      reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${c.slug}-recipients.csv"`);
      return reply.send(Readable.from(svc.recipients.exportCsv(c)));
    },
  );

  for (const [path, newLink, summary] of [
    [
      'resend',
      false,
      'A reminder: mails the notice again with the SAME link the volunteer holds (the earlier email keeps working); 409 no_link when that link is not known',
    ],
    ['new-link', true, 'Mails a NEW link; the link in earlier emails stops working (a notice went to a wrong address, a link was shared)'],
  ] as const) {
    rr.post(
      `${P}/campaigns/:id/recipients/:rid/${path}`,
      { schema: s({ summary, params: ridParams, response: { 200: recipientSchema } }) },
      async (req) => {
        const c = await svc.campaign.resolve(req.params.id);
        const rec = await svc.recipients.get(c, req.params.rid);
        try {
          await svc.sending.resendOne(c, rec, { newLink });
        } catch (err) {
          if (err instanceof PermanentMailError || err instanceof TemporaryMailError)
            throw new CertError(4, 'smtp_error', `the mail server refused: ${err.message}`, 502);
          throw err;
        }
        return viewWithCertificate(svc, await svc.recipients.get(c, rec.id));
      },
    );
  }

  rr.post(
    `${P}/campaigns/:id/recipients/:rid/reset`,
    {
      schema: s({
        summary:
          'Back to status 0 (failure cleared): the link stays and is mailed again on the next send; an issued certificate stays valid (revoke it explicitly)',
        params: ridParams,
        response: { 200: recipientSchema },
      }),
    },
    async (req) => {
      const c = await svc.campaign.resolve(req.params.id);
      return viewWithCertificate(svc, await svc.recipients.reset(await svc.recipients.get(c, req.params.rid)));
    },
  );

  rr.get(
    `${P}/campaigns/:id/recipients/:rid/certificate`,
    { schema: s({ summary: "A volunteer's certificate, rendered from stored inputs", params: ridParams }) },
    async (req, reply) => {
      const c = await svc.campaign.resolve(req.params.id);
      const f = await svc.claims.certificateFile(await svc.recipients.get(c, req.params.rid));
      return reply.type(f.contentType).header('content-disposition', `inline; filename="${f.filename}"`).send(f.bytes);
    },
  );

  rr.get(
    `${P}/campaigns/:id/send`,
    {
      schema: s({
        summary: 'How many notices `send` would mail now',
        params: idParams,
        response: { 200: z.object({ toSend: z.number() }) },
      }),
    },
    async (req) => ({
      toSend: await svc.sending.toSend(await svc.campaign.resolve(req.params.id)),
    }),
  );
  rr.post(
    `${P}/campaigns/:id/send`,
    {
      schema: s({
        summary: 'Starts (or resumes) mailing every volunteer at status 0',
        params: idParams,
        response: { 200: z.object({ queued: z.number() }) },
      }),
    },
    async (req) => ({
      queued: await svc.sending.start(await svc.campaign.resolve(req.params.id)),
    }),
  );
  for (const action of ['pause', 'resume'] as const) {
    rr.post(
      `${P}/campaigns/:id/${action}`,
      {
        schema: s({ summary: `${action === 'pause' ? 'Pauses' : 'Resumes'} sending`, params: idParams, response: { 200: progressSchema } }),
      },
      async (req) => {
        const c = await svc.campaign.resolve(req.params.id);
        await svc.sending[action](c);
        return svc.sending.progress(await svc.campaign.resolve(c.id));
      },
    );
  }
  rr.post(
    `${P}/campaigns/:id/retry-failed`,
    {
      schema: s({
        summary:
          'Retries every failed mail of the campaign: failed notices go back to the queue (same link, attempts reset) and sending starts; failed certificate mails are delivered again',
        params: idParams,
        response: { 200: z.object({ notices: z.number(), certificates: z.number() }) },
      }),
    },
    async (req) => svc.sending.retryFailed(await svc.campaign.resolve(req.params.id)),
  );
  rr.get(
    `${P}/campaigns/:id/progress`,
    { schema: s({ summary: 'Sending progress', params: idParams, response: { 200: progressSchema } }) },
    async (req) => svc.sending.progress(await svc.campaign.resolve(req.params.id)),
  );
  rr.get(
    `${P}/campaigns/:id/progress/stream`,
    { schema: s({ summary: 'Server-sent events: `progress` on change and at least every 2 s', params: idParams }) },
    async (req, reply) => streamProgress(req, reply, svc, await svc.campaign.resolve(req.params.id)),
  );

  rr.post(
    `${P}/campaigns/:id/mail/test`,
    {
      schema: s({
        summary: "Sends a test message through the campaign's SMTP account",
        params: idParams,
        body: z.object({ to: z.email().max(254) }).strict(),
        response: { 200: z.object({ ok: z.literal(true), response: z.string() }) },
      }),
    },
    async (req) => {
      const c = await svc.campaign.resolve(req.params.id);
      const smtp = svc.campaign.smtpFor(c);
      const m = svc.deps.mailer;
      try {
        if (smtp && m.sendTest) return { ok: true as const, response: (await m.sendTest(smtp, req.body.to)).response };
        const res = await m.send({
          to: req.body.to,
          subject: `Test message from ${c.organization || c.name}`,
          html: '<p>This is a test message: the mail settings work.</p>',
          messageId: `<test.${c.id}.${Date.now()}@volunteer-hub>`,
          smtp,
          ...(await svc.deliverability.identity(c, smtp)),
        });
        return { ok: true as const, response: res.response };
      } catch (err) {
        if (err instanceof PermanentMailError || err instanceof TemporaryMailError) throw new CertError(4, 'smtp_error', err.message, 502);
        throw err;
      }
    },
  );

  rr.post(
    `${P}/campaigns/:id/mail/headers`,
    {
      schema: s({
        summary:
          'The exact headers a notice of this campaign carries (From, Reply-To, List-Unsubscribe, DKIM-Signature ...), composed and signed as for SMTP for a sample volunteer',
        params: idParams,
        body: z
          .object({ to: z.email().max(254).optional() })
          .strict()
          .optional(),
        response: {
          200: z.object({
            headers: z.array(z.object({ name: z.string(), value: z.string() })),
            raw: z.string().describe('the header block as sent (folded lines)'),
            from: z.string(),
            fromName: z.string().nullable(),
            replyTo: z.string().nullable(),
            dkim: z
              .object({ domain: z.string(), selector: z.string() })
              .nullable()
              .describe('null: the From domain has no DKIM key, the notice goes unsigned'),
            transport: z.enum(['campaign-smtp', 'global-smtp', 'dev-mailbox']),
          }),
        },
      }),
    },
    async (req) => svc.sending.previewHeaders(await svc.campaign.resolve(req.params.id), req.body?.to),
  );

  rr.post(
    `${P}/campaigns/:id/mail/preview`,
    {
      schema: s({
        summary: 'Renders the notice with sample values (or unsaved subject/body)',
        params: idParams,
        body: z
          .object({ subject: z.string().max(500).optional(), body: z.string().max(50_000).optional() })
          .strict()
          .optional(),
        response: { 200: z.object({ subject: z.string(), html: z.string(), text: z.string() }) },
      }),
    },
    async (req) => svc.campaign.previewMail(await svc.campaign.resolve(req.params.id), req.body ?? {}),
  );
}

async function streamProgress(req: FastifyRequest, reply: FastifyReply, svc: Services, c: { id: number }): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let last = '';
  let lastAt = 0;
  let closed = false;
  const tick = async () => {
    if (closed) return;
    try {
      const p = JSON.stringify(await svc.sending.progress(await svc.campaign.resolve(c.id)));
      if (p !== last || Date.now() - lastAt >= 2000) {
        res.write(`event: progress\ndata: ${p}\n\n`);
        last = p;
        lastAt = Date.now();
      }
    } catch (err) {
      req.log.warn({ err }, 'progress stream failed');
    }
  };
  const timer = setInterval(() => void tick(), 500);
  req.raw.on('close', () => {
    closed = true;
    clearInterval(timer);
  });
  await tick();
}
