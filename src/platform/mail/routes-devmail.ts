/**
 * The dev mailbox over HTTP (`/api/v2/dev/mail...`), registered only when no SMTP is configured
 * (otherwise every path here is a 404). It holds every claim link, activation link and recovery
 * code, so every request needs the organizer's admin token (`Authorization: Bearer`), checked and
 * limited like every other admin call: 401 without it, 429 after too many wrong ones. (A loopback
 * check alone is no guard: behind a proxy without TRUST_PROXY every client is 127.0.0.1.)
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Email } from 'postal-mime';

/** postal-mime, loaded when the dev mailbox shows a message (issue 15, idle memory). */
const parseMail = async (raw: Buffer | string) => (await import('postal-mime')).default.parse(raw);
import { z } from 'zod';
import type { Core } from '../core.js';
import { useEnvelope } from '../http/envelope.js';
import { AppError, NotFoundError, RateLimitedError, UnauthorizedError } from '../http/errors.js';
import { devMailboxRepo } from './dev-mailbox.js';

/** The organizer's token check (certificates/admin-token.ts), handed in by the composition root. */
export interface AdminGate {
  check(token: string | undefined, ip: string): Promise<{ ok: true } | { ok: false; reason: string; retryAfterMs?: number }>;
}

const errorBody = z.object({ code: z.string(), message: z.string() });
const idParams = z.object({ id: z.coerce.number().int().positive() });
const summary = z.object({
  id: z.number(),
  messageId: z.string(),
  to: z.string(),
  from: z.string(),
  subject: z.string(),
  createdAt: z.number().describe('ms since the epoch'),
  attachments: z.number().describe('number of attachments'),
});
const detail = z.object({
  id: z.number(),
  messageId: z.string(),
  subject: z.string(),
  from: z.string(),
  to: z.string(),
  date: z.string().nullable(),
  createdAt: z.number(),
  html: z.string().nullable(),
  text: z.string().nullable(),
  attachments: z.array(z.object({ index: z.number(), filename: z.string(), contentType: z.string(), size: z.number() })),
});

/** Attachments as MailComposer writes them (Content-Disposition: attachment); cheap enough for a list. */
function countAttachments(raw: Buffer): number {
  return raw.toString('latin1').match(/^content-disposition:\s*attachment/gim)?.length ?? 0;
}

function attachmentsOf(email: Email) {
  return email.attachments.filter((a) => a.disposition !== 'inline' || !a.related);
}

function bytesOf(content: ArrayBuffer | Uint8Array | string): Buffer {
  return typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content as ArrayBuffer);
}

function addressText(a: Email['from'] | Email['to']): string {
  const list = Array.isArray(a) ? a : a ? [a] : [];
  return list.map((x) => (x.address ? (x.name ? `${x.name} <${x.address}>` : x.address) : x.name)).join(', ');
}

/** Registers the dev mailbox API when the Mailer writes to the dev mailbox. */
export async function registerDevMailbox(app: FastifyInstance, core: Core, admin: AdminGate): Promise<void> {
  if (!core.mailer.isDevMailbox) return;
  await app.register(async (scope) => {
    useEnvelope(
      scope,
      (message) => new AppError('bad_request', message, 400),
      ({ error }) => ({ status: error.status, body: { code: String(error.code), message: error.message } }),
    );
    scope.addHook('onRequest', async (req: FastifyRequest) => {
      const h = req.headers.authorization;
      const token = typeof h === 'string' && /^Bearer\s+/i.test(h) ? h.replace(/^Bearer\s+/i, '').trim() : undefined;
      const c = await admin.check(token, req.ip);
      if (c.ok) return;
      if (c.reason === 'rate_limited')
        throw new RateLimitedError(c.retryAfterMs ?? 60_000, 'too many wrong admin tokens from this address; try again later');
      throw new UnauthorizedError(
        c.reason === 'missing' ? 'the dev mailbox needs the admin token (Authorization: Bearer <token>)' : 'wrong admin token',
      );
    });
    const r = scope.withTypeProvider<ZodTypeProvider>();
    const tags = ['dev mailbox'];
    const load = async (id: number) => {
      const m = await devMailboxRepo.get(core.db, id);
      if (!m) throw new NotFoundError(`no message ${id} in the dev mailbox`);
      return m;
    };

    r.get(
      '/api/v2/dev/mail',
      {
        schema: {
          tags,
          summary: 'Messages in the dev mailbox, newest first',
          querystring: z.object({
            limit: z.coerce.number().int().min(1).max(200).default(50),
            before: z.coerce.number().int().positive().optional().describe('id cursor: messages older than this one'),
          }),
          response: { 200: z.object({ items: z.array(summary), next: z.number().nullable() }), 400: errorBody, 401: errorBody },
        },
      },
      async (req) => {
        const rows = await devMailboxRepo.list(core.db, req.query.limit, req.query.before);
        const items = rows.map(({ raw, ...m }) => ({ ...m, attachments: countAttachments(raw) }));
        return { items, next: items.length === req.query.limit ? items[items.length - 1].id : null };
      },
    );

    r.get(
      '/api/v2/dev/mail/:id',
      {
        schema: {
          tags,
          summary: 'One message, parsed',
          params: idParams,
          response: { 200: detail, 400: errorBody, 401: errorBody, 404: errorBody },
        },
      },
      async (req) => {
        const m = await load(req.params.id);
        const email = await parseMail(m.raw);
        return {
          id: m.id,
          messageId: email.messageId ?? m.messageId,
          subject: email.subject ?? m.subject,
          from: addressText(email.from) || m.from,
          to: addressText(email.to) || m.to,
          date: email.date ?? null,
          createdAt: m.createdAt,
          html: email.html ?? null,
          text: email.text ?? null,
          attachments: attachmentsOf(email).map((a, index) => ({
            index,
            filename: a.filename ?? `attachment-${index}`,
            contentType: a.mimeType,
            size: bytesOf(a.content).length,
          })),
        };
      },
    );

    r.get(
      '/api/v2/dev/mail/:id/raw',
      { schema: { tags, summary: 'The raw RFC 822 message (message/rfc822)', params: idParams } },
      async (req, reply) => {
        const m = await load(req.params.id);
        return reply.type('message/rfc822').header('content-disposition', `attachment; filename="message-${m.id}.eml"`).send(m.raw);
      },
    );

    r.get(
      '/api/v2/dev/mail/:id/attachments/:index',
      {
        schema: {
          tags,
          summary: 'One attachment: its bytes, with its own content type',
          params: idParams.extend({ index: z.coerce.number().int().min(0) }),
        },
      },
      async (req, reply) => {
        const m = await load(req.params.id);
        const a = attachmentsOf(await parseMail(m.raw))[req.params.index];
        if (!a) throw new NotFoundError(`message ${m.id} has no attachment ${req.params.index}`);
        const name = (a.filename ?? `attachment-${req.params.index}`).replace(/["\\\r\n]/g, '_');
        return reply
          .type(a.mimeType || 'application/octet-stream')
          .header(
            'content-disposition',
            `inline; filename="${name.replace(/[^\x20-\x7e]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`,
          )
          .header('x-content-type-options', 'nosniff')
          .header('content-security-policy', 'sandbox')
          .send(bytesOf(a.content));
      },
    );

    r.delete(
      '/api/v2/dev/mail',
      { schema: { tags, summary: 'Empties the dev mailbox', response: { 200: z.object({ deleted: z.number() }), 401: errorBody } } },
      async () => ({ deleted: await devMailboxRepo.clear(core.db) }),
    );
  });
}
