/**
 * The seed's endpoints, kept exactly: paths, fields, envelope {code, data, message}, HTTP 200.
 * Codes: 0 ok; 1 name missing/invalid, bad input, wrong admin token; 2 token invalid; 3 already
 * sent; 4 rendering or mailing failed. An optional `campaign` (slug or id) selects a campaign.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AdminAuth } from './admin-token.js';
import type { Services } from './services.js';
import { badInput, CertError } from './errors.js';
import { readTemplateField } from './upload.js';
import { docsOnlySchema } from '../../platform/http/docs-only-schema.js';

const envelope = z.object({ code: z.number(), data: z.any(), message: z.string() });
const campaignRef = z
  .union([z.string().max(100), z.number().int()])
  .optional()
  .describe('campaign slug or id (default: "default")');
const responses = { 200: envelope };
/**
 * A position: a number, or a numeric string as the original's form sends; "" and null (the
 * original console's parseInt('') of an emptied field, sent as JSON) leave it as it is.
 */
const position = z
  .union([z.number(), z.string().max(20)])
  .nullable()
  .optional();
/** A text field of updateOrgConfig: "" or null leave the stored value as it is. */
const text = (max: number) => z.string().max(max).nullable().optional();

function ok(data: unknown, message = 'success') {
  return { code: 0, data, message };
}

/** A position as a number; undefined to leave it; a problem is added to `bad` (all are reported at once). */
function num(v: string | number | null | undefined, field: string, bad: string[]): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : v.trim() === '' ? NaN : Number(v.trim());
  if (!Number.isFinite(n) || Math.abs(n) > 100_000) {
    bad.push(`${field}: expected a number of pixels, got ${JSON.stringify(v).slice(0, 40)}`);
    return undefined;
  }
  return Math.round(n);
}

/** Registers GET /api/getUserInfo (the caller installs the seed envelope on this context; index.ts keeps it out of the upload scope). */
export function registerSeedLookupRoute(app: FastifyInstance, svc: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['certificates (seed API)'];
  r.get(
    '/api/getUserInfo',
    {
      schema: {
        tags,
        summary: 'Volunteer info for a link token',
        querystring: z.object({ token: z.string().max(500).optional(), campaign: campaignRef }),
        response: responses,
      },
      // The hot path: the lookup checks the token itself (type, length), so nothing is validated.
      validatorCompiler: docsOnlySchema,
    },
    async (req, reply) => {
      const hit = await svc.claims.lookup(req.query.token, req.ip);
      // Claimed: 3 once the certificate went out or while it is on its way, 4 when its mail failed.
      if (hit.status >= 2) throw svc.claims.deliveryState(hit);
      const name = hit.name ?? '';
      // Hand-built JSON: this is the hot path (one indexed lookup, no schema walk per request).
      const e = JSON.stringify(hit.email);
      const n = JSON.stringify(name);
      reply.type('application/json; charset=utf-8');
      return reply.send(`{"code":0,"data":{"email":${e},"name":${n},"Email":${e},"Name":${n}},"message":"success"}` as never);
    },
  );
}

/** Registers the seed endpoints but getUserInfo (the caller installs the seed envelope on this context). */
export function registerSeedRoutes(app: FastifyInstance, svc: Services, admin: AdminAuth): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['certificates (seed API)'];

  async function requireAdmin(token: string | undefined, req: FastifyRequest): Promise<void> {
    const c = await admin.check(token, req.ip);
    if (c.ok) return;
    if (c.reason === 'rate_limited')
      throw new CertError(
        1,
        'rate_limited',
        `too many wrong admin tokens from this address; try again in ${Math.ceil((c.retryAfterMs ?? 0) / 1000)} s`,
        429,
      );
    throw new CertError(1, 'unauthorized', c.reason === 'missing' ? 'admin token missing' : 'wrong admin token', 401);
  }

  const submitBody = z.object({
    token: z.string().max(500).optional(),
    name: z.string().max(2000).optional(),
    Token: z.string().max(500).optional(),
    Name: z.string().max(2000).optional(),
    campaign: campaignRef,
  });
  const submit = async (req: FastifyRequest<{ Body: z.infer<typeof submitBody> }>) => {
    const b = req.body ?? {};
    const token = b.token ?? b.Token;
    const name = b.name ?? b.Name;
    // The seed's table starts with "1 缺少name字段": a body without a name ({} too) is that, first.
    if (name === undefined)
      throw new CertError(1, 'name_refused', 'name missing: give the name to print on the certificate', 422, { reason: 'empty' });
    if (token === undefined) throw new CertError(2, 'token_invalid', 'token missing', 404);
    await svc.claims.submit(token, name, req.ip);
    return { code: 0, data: null, message: 'success' };
  };
  r.post(
    '/api/submitUserInfo',
    {
      schema: {
        tags,
        summary: 'Submit the name to print (status 2); the certificate follows by mail',
        body: submitBody,
        response: responses,
      },
    },
    submit,
  );
  r.post(
    '/api/submitUserinfo',
    { schema: { tags, summary: 'First-version spelling of submitUserInfo ({Token, Name})', body: submitBody, response: responses } },
    submit,
  );

  r.post(
    '/api/addUserData',
    {
      bodyLimit: 16 * 1024 * 1024,
      schema: {
        tags,
        summary: 'Import volunteers: one line each, email[,number[,name]]',
        body: z.object({ token: z.string().max(500), email: z.array(z.string().max(5000)).max(100_000), campaign: campaignRef }),
        response: responses,
      },
    },
    async (req) => {
      await requireAdmin(req.body.token, req);
      const c = await svc.campaign.resolve(req.body.campaign);
      const res = await svc.recipients.importLines(c, req.body.email);
      // The seed answers the import like any call ("结果同 1"): 0 with the report, even when no line could be added.
      if (res.added === 0 && res.rejected.length > 0) {
        return ok(
          res,
          `no volunteer added: ${res.rejected.length} line(s) rejected, ${res.duplicates.length} duplicate(s) (see data.rejected)`,
        );
      }
      return ok(res, `added ${res.added}, duplicates ${res.duplicates.length}, rejected ${res.rejected.length}`);
    },
  );

  r.post(
    '/api/uploadImage',
    {
      schema: {
        tags,
        summary: 'Upload the certificate template (multipart field "template", JPEG or PNG, at most 20 MB and 40 megapixels); header Token',
        headers: z.object({ token: z.string().max(500).optional() }).passthrough(),
        querystring: z.object({ campaign: campaignRef }),
        response: responses,
      },
    },
    async (req) => {
      await requireAdmin(req.headers.token, req);
      const c = await svc.campaign.resolve(req.query.campaign);
      const bytes = await readTemplateField(req);
      return ok(await svc.campaign.setTemplate(c, bytes));
    },
  );

  r.post(
    '/api/updateOrgConfig',
    {
      schema: {
        tags,
        summary: 'Organization, positions and SMTP account; empty fields leave values as they are; the password is never returned',
        body: z
          .object({
            token: z.string().max(500),
            name: text(200),
            website: text(500),
            name_horizontal_pos: position,
            name_vertical_pos: position,
            serial_number_horizontal_pos: position,
            serial_number_vertical_pos: position,
            date_horizontal_pos: position,
            date_vertical_pos: position,
            username: text(254),
            password: text(500),
            smtp_host: z
              .string()
              .max(253)
              .regex(/^[A-Za-z0-9.-]*$/, 'a host name')
              .nullable()
              .optional(),
            smtp_port: z
              .union([z.number().int().min(1).max(65535), z.string().regex(/^\d{0,5}$/)])
              .nullable()
              .optional(),
            // The original React console nests the mailbox: {"email": {"username", "password"}};
            // anything else under "email" is ignored like any unknown parameter.
            email: z.unknown().optional(),
            campaign: campaignRef,
          })
          .passthrough(),
        response: responses,
      },
    },
    async (req) => {
      const b = req.body;
      await requireAdmin(b.token, req);
      const c = await svc.campaign.resolve(b.campaign);
      const nested = b.email && typeof b.email === 'object' ? (b.email as { username?: unknown; password?: unknown }) : {};
      const username =
        b.username?.trim() ||
        (typeof nested.username === 'string' && nested.username.length <= 254 ? nested.username.trim() : '') ||
        undefined;
      const password =
        b.password || (typeof nested.password === 'string' && nested.password.length <= 500 ? nested.password : '') || undefined;
      // Every field that cannot be used is named at once; nothing is saved then.
      const bad: string[] = [];
      const positions = {
        name: { x: num(b.name_horizontal_pos, 'name_horizontal_pos', bad), y: num(b.name_vertical_pos, 'name_vertical_pos', bad) },
        number: {
          x: num(b.serial_number_horizontal_pos, 'serial_number_horizontal_pos', bad),
          y: num(b.serial_number_vertical_pos, 'serial_number_vertical_pos', bad),
        },
        date: { x: num(b.date_horizontal_pos, 'date_horizontal_pos', bad), y: num(b.date_vertical_pos, 'date_vertical_pos', bad) },
      };
      if (b.website && !/^(https?:\/\/)?[^\s<>"']+$/.test(b.website)) bad.push('website: expected an address');
      if (username && !/^[^\s@]+@[^\s@]+$/.test(username)) bad.push('username: expected the mailbox address, e.g. name@163.com');
      if (bad.length) throw badInput(`nothing saved: ${bad.join('; ')}`);
      const port = b.smtp_port === undefined || b.smtp_port === null || b.smtp_port === '' ? undefined : Number(b.smtp_port);
      await svc.campaign.updateOrgConfig(c, {
        name: b.name?.trim() || undefined,
        website: b.website?.trim() || undefined,
        positions,
        username,
        password,
        smtpHost: b.smtp_host?.trim() || undefined,
        smtpPort: port,
        referer: typeof req.headers.referer === 'string' ? req.headers.referer : undefined,
      });
      return ok(null);
    },
  );

  r.post(
    '/api/email',
    {
      schema: {
        tags,
        summary:
          'send: mail every volunteer at status 0 a private link (runs until done, paced); query: counts by status, failures, whether sending',
        body: z.object({ token: z.string().max(500), action: z.enum(['send', 'query', 'pause', 'resume']), campaign: campaignRef }),
        response: responses,
      },
    },
    async (req) => {
      await requireAdmin(req.body.token, req);
      let c = await svc.campaign.resolve(req.body.campaign);
      let queued: number | undefined;
      if (req.body.action === 'send') queued = await svc.sending.start(c);
      else if (req.body.action === 'pause') await svc.sending.pause(c);
      else if (req.body.action === 'resume') await svc.sending.resume(c);
      c = await svc.campaign.resolve(c.id);
      const p = await svc.sending.progress(c);
      return ok({
        ...(queued !== undefined ? { queued } : {}),
        counts: p.counts,
        failed: { count: p.failed.count, latest: p.failed.latest },
        sending: p.sending === 'sending',
        state: p.sending,
        ratePerMin: p.ratePerMin,
        quota: p.quota,
        outage: p.outage,
        // (Addition) volunteers not mailed: one-click unsubscribes, hard bounces, blocklisted addresses.
        unsubscribed: p.optOut.unsubscribed,
        bounced: p.optOut.bounced,
        blocked: p.optOut.blocked,
      });
    },
  );
}
