/**
 * The REST API of the full rule model (/api/v2/autoreply/...), used by the web pages: rules with
 * several keywords (equal | contains) and replies (all | random), follow and default replies, the
 * on/off switch, import/export, connected official accounts and the simulator. `?account=<id>`
 * selects a connected account's rules; without it, the member's own rules (the seed's view).
 * Session: the `ar_session` cookie (state changes also pass the platform's cross-site check,
 * platform/http/origins.ts) or `Authorization: Bearer <token>`.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { MembersService } from './members-service.js';
import type { MpAccountsService } from './mp-accounts-service.js';
import type { RulesService } from './rules-service.js';
import type { RuleRecord } from './rules-repo.js';
import { positionKey } from './rules-service.js';
import { requireMember } from './http.js';
import type { Reply } from './replies.js';
import { simulate, type Transport } from './simulator.js';

const TAG = ['autoreply'];
const err = z.object({ code: z.string(), message: z.string() });
const errors = { 400: err, 401: err, 403: err, 404: err, 409: err.extend({ limit: z.string().optional(), max: z.number().optional() }) };
const keyword = z.object({ text: z.string().min(1).max(100), match: z.enum(['equal', 'contains']).default('equal') });
const imageReply = z.object({
  type: z.literal('image'),
  mediaId: z
    .string()
    .min(1)
    .max(128)
    .describe(
      "the image's media_id in the official account's material library (素材管理; permanent material, temporary media expires in 3 days)",
    ),
});
const newsReply = z.object({
  type: z.literal('news'),
  title: z.string().min(1).max(64),
  description: z.string().max(120).default(''),
  url: z.string().min(1).max(1024).describe('http(s) address the card opens'),
  picUrl: z.string().max(1024).default('').describe('http(s) address of the picture (JPG/PNG; 360x200 shows best), or empty'),
});
const replyIn = z
  .union([z.string().min(1).max(2000), z.object({ type: z.literal('text'), text: z.string().min(1).max(2000) }), imageReply, newsReply])
  .describe(
    'a text reply (a string, or {type: "text", text}), an image ({type: "image", mediaId}) or a link card ({type: "news", title, description, url, picUrl}), as WeChat sends them',
  );
const replyOut = z
  .union([z.string(), imageReply.required(), newsReply.required()])
  .describe('text replies as strings; image and news replies as objects');
const ruleIn = z.object({
  name: z.string().max(60).nullable().optional().describe('a name for people ("Opening hours"); empty or null for none'),
  keywords: z.array(keyword).min(1).max(20),
  replies: z.array(replyIn).min(1).max(10),
  mode: z.enum(['all', 'random']).default('all'),
});
const ruleOut = z.object({
  id: z.number(),
  key: z.string().describe("the seed's zero-padded key"),
  name: z.string().nullable(),
  keywords: z.array(z.object({ text: z.string(), match: z.enum(['equal', 'contains']) })),
  replies: z.array(replyOut),
  mode: z.enum(['all', 'random']),
  createdAt: z.number(),
  updatedAt: z.number(),
});
const scope = z.object({
  account: z.coerce.number().int().positive().optional().describe('a connected account id; omit for your own rules'),
});
const settings = z.object({ enabled: z.boolean(), followReply: z.string().nullable(), defaultReply: z.string().nullable() });
const accountOut = z.object({
  id: z.number(),
  appid: z.string(),
  name: z.string().nullable(),
  callbackUrl: z.string(),
  safeMode: z.boolean(),
  verifiedAt: z.number().nullable(),
  createdAt: z.number(),
});
const idParam = z.object({ id: z.coerce.number().int().positive() });

/** A text reply as a string (the shape clients of the first version read), others as objects. */
const presentReply = (r: Reply) => (r.type === 'text' ? r.text : r);

function present(r: RuleRecord) {
  return {
    id: r.id,
    key: positionKey(r.position),
    name: r.name,
    keywords: r.keywords.map((k) => ({ text: k.text, match: k.match })),
    replies: r.replies.map(presentReply),
    mode: r.mode,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

export function registerApiRoutes(
  appIn: FastifyInstance,
  deps: {
    members: MembersService;
    rules: RulesService;
    mpAccounts: MpAccountsService;
    publicUrl: string;
    /** The platform account's name and WeChat ID (WECHAT_MP_NAME, WECHAT_MP_WECHAT_ID), for people who cannot scan. */
    platform?: { name: string | null; wechatId: string | null };
    transport: (callbackId: string) => Transport;
    now: () => number;
  },
): void {
  const app = appIn.withTypeProvider<ZodTypeProvider>();
  const { members, rules, mpAccounts } = deps;
  const read = { preHandler: [requireMember(members)], config: { changesState: false } };
  const write = { preHandler: [requireMember(members)] };
  const P = '/api/v2/autoreply';
  const uid = (req: FastifyRequest) => req.member!.id;
  async function setOf(req: FastifyRequest, account: number | undefined): Promise<number> {
    return account ? mpAccounts.ruleSetOf(uid(req), account) : Number((await rules.memberSet(uid(req))).id);
  }

  // Public: the register page shows the platform account's QR (follow it to get a code).
  app.get(
    `${P}/platform`,
    {
      config: { changesState: false },
      schema: {
        tags: TAG,
        summary:
          "Whether the platform official account is configured, its follow QR code's address, and its name and WeChat ID (for the register page; a phone cannot scan its own screen)",
        response: {
          200: z.object({
            configured: z.boolean(),
            qrImageUrl: z.string().nullable(),
            name: z.string().nullable(),
            wechatId: z.string().nullable().describe('the WeChat ID (微信号) to search for in WeChat'),
          }),
        },
      },
    },
    async () => ({
      configured: members.wechatConfigured,
      qrImageUrl: members.wechatConfigured ? `${P}/platform/qr.png` : null,
      name: members.wechatConfigured ? (deps.platform?.name ?? null) : null,
      wechatId: members.wechatConfigured ? (deps.platform?.wechatId ?? null) : null,
    }),
  );
  // Public (no session): it may ask WeChat for the follow QR once per process, nothing a member owns.
  app.get(
    `${P}/platform/qr.png`,
    {
      config: { changesState: false },
      schema: {
        tags: TAG,
        summary: "The platform account's QR code (PNG): scanning it follows the account, which answers a registration code",
      },
    },
    async (_req, reply) =>
      reply
        .type('image/png')
        .header('cache-control', 'public, max-age=3600')
        .send(await members.followQrImage()),
  );

  app.get(
    `${P}/me`,
    {
      ...read,
      schema: {
        tags: TAG,
        summary: 'The signed-in member',
        response: {
          200: z.object({
            id: z.number(),
            username: z.string(),
            enabled: z.boolean(),
            wechatBound: z.boolean(),
            wechatConfigured: z.boolean(),
          }),
          ...errors,
        },
      },
    },
    async (req) => members.profile(uid(req)),
  );

  app.get(
    `${P}/rules`,
    {
      ...read,
      schema: {
        tags: TAG,
        summary:
          'List rules, a page at a time (limit 1-1000, default 200; offset), searched with q over names, keywords and replies; total is how many match',
        querystring: scope.extend({
          q: z.string().max(100).optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(200),
          offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
        }),
        response: { 200: z.object({ total: z.number(), rules: z.array(ruleOut) }), ...errors },
      },
    },
    async (req) => {
      const page = await rules.page(await setOf(req, req.query.account), {
        q: req.query.q,
        limit: req.query.limit,
        offset: req.query.offset,
      });
      return { total: page.total, rules: page.rules.map(present) };
    },
  );
  app.get(
    `${P}/usage`,
    {
      ...read,
      schema: {
        tags: TAG,
        summary: 'What you store against the per-member caps: rules and their bytes over all your accounts, connected accounts',
        response: {
          200: z.object({
            rules: z.number(),
            maxRules: z.number(),
            ruleBytes: z.number(),
            maxRuleBytes: z.number(),
            accounts: z.number(),
            maxAccounts: z.number(),
          }),
          ...errors,
        },
      },
    },
    async (req) => {
      const u = await rules.usage(uid(req));
      const a = await mpAccounts.usage(uid(req));
      return {
        rules: u.rules,
        maxRules: u.maxRules,
        ruleBytes: u.bytes,
        maxRuleBytes: u.maxRuleBytes,
        accounts: a.accounts,
        maxAccounts: a.maxAccounts,
      };
    },
  );
  app.post(
    `${P}/rules`,
    {
      ...write,
      schema: {
        tags: TAG,
        summary: 'Create a rule (409 duplicate_keyword when a keyword is used by another rule)',
        querystring: scope,
        body: ruleIn,
        response: { 201: ruleOut, ...errors },
      },
    },
    async (req, reply) => {
      const setId = await setOf(req, req.query.account);
      const [id] = await rules.create(setId, [req.body]);
      return reply.status(201).send(present(await rules.get(setId, id)));
    },
  );
  app.get(
    `${P}/rules/:id`,
    { ...read, schema: { tags: TAG, summary: 'One rule', params: idParam, querystring: scope, response: { 200: ruleOut, ...errors } } },
    async (req) => present(await rules.get(await setOf(req, req.query.account), req.params.id)),
  );
  app.put(
    `${P}/rules/:id`,
    {
      ...write,
      schema: {
        tags: TAG,
        summary: 'Replace a rule (its key stays)',
        params: idParam,
        querystring: scope,
        body: ruleIn,
        response: { 200: ruleOut, ...errors },
      },
    },
    async (req) => {
      const setId = await setOf(req, req.query.account);
      await rules.update(setId, req.params.id, req.body);
      return present(await rules.get(setId, req.params.id));
    },
  );
  app.delete(
    `${P}/rules/:id`,
    {
      ...write,
      schema: { tags: TAG, summary: 'Delete a rule', params: idParam, querystring: scope, response: { 204: z.null(), ...errors } },
    },
    async (req, reply) => {
      await rules.remove(await setOf(req, req.query.account), req.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    `${P}/settings`,
    {
      ...read,
      schema: {
        tags: TAG,
        summary: 'On/off switch, follow reply, default reply',
        querystring: scope,
        response: { 200: settings, ...errors },
      },
    },
    async (req) => {
      const setId = await setOf(req, req.query.account);
      const s = req.query.account ? await rules.setRow(setId) : await rules.memberSet(uid(req));
      return { enabled: s.enabled === 1, followReply: s.follow_reply, defaultReply: s.default_reply };
    },
  );
  app.put(
    `${P}/settings`,
    {
      ...write,
      schema: {
        tags: TAG,
        summary: 'Change the switch, the follow reply or the default reply (at most once per follower per hour); null clears a reply',
        querystring: scope,
        body: z.object({
          enabled: z.boolean().optional(),
          followReply: z.string().max(2000).nullable().optional(),
          defaultReply: z.string().max(2000).nullable().optional(),
        }),
        response: { 200: settings, ...errors },
      },
    },
    async (req) => {
      const setId = await setOf(req, req.query.account);
      await rules.settings(setId, req.body);
      const s = await rules.setRow(setId);
      return { enabled: s.enabled === 1, followReply: s.follow_reply, defaultReply: s.default_reply };
    },
  );

  app.get(
    `${P}/export`,
    {
      ...read,
      schema: {
        tags: TAG,
        summary: 'Export rules and settings as JSON (the import format), streamed a page of rules at a time',
        querystring: scope,
        response: { 200: z.object({ version: z.literal(1), settings, rules: z.array(ruleIn) }), ...errors },
      },
    },
    async (req, reply) => {
      const setId = await setOf(req, req.query.account);
      const s = await rules.setRow(setId);
      const head = {
        version: 1 as const,
        settings: { enabled: s.enabled === 1, followReply: s.follow_reply, defaultReply: s.default_reply },
      };
      async function* body(): AsyncGenerator<string> {
        // The same document as before, written as it is read: `{"version":1,"settings":{...},"rules":[...]}`.
        yield `${JSON.stringify(head).slice(0, -1)},"rules":[`;
        let first = true;
        for await (const page of rules.pages(setId)) {
          let chunk = '';
          for (const r of page) {
            chunk +=
              (first ? '' : ',') +
              JSON.stringify({
                ...(r.name ? { name: r.name } : {}),
                keywords: r.keywords.map((k) => ({ text: k.text, match: k.match })),
                replies: r.replies.map(presentReply),
                mode: r.mode,
              });
            first = false;
          }
          yield chunk;
        }
        yield ']}';
      }
      return reply.type('application/json; charset=utf-8').send(Readable.from(body()) as never);
    },
  );
  app.post(
    `${P}/import`,
    {
      ...write,
      bodyLimit: 4 * 1024 * 1024,
      schema: {
        tags: TAG,
        summary: 'Import rules, all or nothing; replace=true deletes existing rules first',
        querystring: scope,
        body: z.object({ replace: z.boolean().default(false), rules: z.array(ruleIn).max(5000), settings: settings.partial().optional() }),
        response: { 200: z.object({ imported: z.number() }), ...errors },
      },
    },
    async (req) => {
      const setId = await setOf(req, req.query.account);
      const imported = await rules.importRules(setId, req.body.rules, req.body.replace);
      if (req.body.settings) await rules.settings(setId, req.body.settings);
      return { imported };
    },
  );

  app.post(
    `${P}/accounts`,
    {
      ...write,
      schema: {
        tags: TAG,
        summary:
          "Connect an official account; answers the callback URL to paste into WeChat (the secret is never returned). The appid and secret are proven with WeChat first (an access_token request): 400 `wechat_refused` with WeChat's errcode and errmsg when it refuses them, 502 `wechat_failed` when it cannot be reached",
        body: z.object({
          appid: z.string().max(64),
          secret: z.string().max(128),
          token: z.string().max(64),
          aes_key: z.string().max(64).nullable().optional(),
          name: z.string().max(100).nullable().optional(),
        }),
        response: { 201: accountOut.extend({ callback_url: z.string() }), ...errors, 502: err },
      },
    },
    async (req, reply) => {
      const a = await mpAccounts.create(uid(req), req.body);
      return reply.status(201).send({ ...a, callback_url: a.callbackUrl });
    },
  );
  app.get(
    `${P}/accounts`,
    {
      ...read,
      schema: {
        tags: TAG,
        summary: 'Connected official accounts',
        response: { 200: z.object({ accounts: z.array(accountOut) }), ...errors },
      },
    },
    async (req) => ({
      accounts: await mpAccounts.list(uid(req)),
    }),
  );
  app.get(
    `${P}/accounts/:id`,
    {
      ...read,
      schema: {
        tags: TAG,
        summary: 'One connected account (verifiedAt is set once WeChat verified the URL)',
        params: idParam,
        response: { 200: accountOut, ...errors },
      },
    },
    async (req) => mpAccounts.get(uid(req), req.params.id),
  );
  app.delete(
    `${P}/accounts/:id`,
    {
      ...write,
      schema: {
        tags: TAG,
        summary: 'Disconnect an account (its rules are deleted)',
        params: idParam,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await mpAccounts.remove(uid(req), req.params.id);
      return reply.status(204).send(null);
    },
  );
  app.post(
    `${P}/accounts/:id/simulate`,
    {
      ...write,
      schema: {
        tags: TAG,
        summary: 'Send a signed (and, in safe mode, encrypted) test message to the account callback and show the reply',
        params: idParam,
        body: z
          .object({
            text: z.string().min(1).max(2000).optional(),
            event: z.enum(['subscribe', 'unsubscribe']).optional(),
            encrypt: z.boolean().optional(),
          })
          .refine((b) => !!b.text !== !!b.event, 'send either text or event'),
        response: {
          200: z.object({
            status: z.number(),
            encrypted: z.boolean(),
            request: z.string(),
            raw: z.string(),
            reply: z.string().nullable(),
            msgType: z.string().nullable(),
            elapsedMs: z.number(),
          }),
          ...errors,
        },
      },
    },
    async (req) => {
      const acc = await mpAccounts.liveById(uid(req), req.params.id);
      return simulate(acc, req.body, deps.transport(acc.callbackId), deps.now);
    },
  );
  app.post(
    `${P}/bind-qr`,
    {
      ...write,
      schema: {
        tags: TAG,
        summary: "A QR code that binds the scanner's WeChat to you (the seed's /wechat/testlogin)",
        response: { 200: z.object({ pid: z.string(), imageUrl: z.string(), expiresAt: z.number() }), ...errors },
      },
    },
    async (req) => {
      const r = await members.makeBindQr(uid(req));
      return { pid: r.pid, imageUrl: `/static/qrimages/${r.pid}.png`, expiresAt: r.expiresAt };
    },
  );
}
