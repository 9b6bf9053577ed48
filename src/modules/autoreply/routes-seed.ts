/**
 * The seed's endpoints (seed 002), paths and envelope as written: /account/*, /mongodb/* and
 * /database/* (two dialects of the same rules), /wechat/testlogin, /static/qrimages/<pid>.png
 * and /wechat/autoreply. HTTP 200 with the seed's codes, except the cross-site refusal (403).
 * The cross-site check itself is the platform's (platform/http/origins.ts): every POST/DELETE
 * here passes it, and so does each GET marked `changesState` (logout, testlogin, GET delete).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { MembersService } from './members-service.js';
import { clearSessionCookie, clientIp, requireMember, sessionToken, setSessionCookie } from './http.js';
import { badInput, notSignedIn, userMismatch } from './errors.js';

const ok = z.looseObject({ code: z.number(), message: z.string() });
/** Signed in (registered or logged in): the member's id, which the rule routes take; or a refusal. */
const signedIn = z.union([z.object({ code: z.literal(200), message: z.string(), id: z.number().int() }), ok]);
const TAG = ['autoreply (seed 002)'];
const pairsBody = z.record(z.string(), z.unknown()).describe('{"received text": "reply", ...}');
const idQuery = z.object({ id: z.string().max(20).optional() });

function memberIdMatches(req: FastifyRequest, id: string | undefined): void {
  if (id === undefined || !/^\d{1,15}$/.test(id)) throw badInput('id (the member id answered by login) is required');
  if (Number(id) !== req.member!.id) throw userMismatch();
}

export function registerSeedRoutes(
  appIn: FastifyInstance,
  members: MembersService,
  opts: { publicUrl: string; secureCookies: boolean },
): void {
  const app = appIn.withTypeProvider<ZodTypeProvider>();
  const auth = requireMember(members);
  const authed = { preHandler: [auth], config: { changesState: false } };
  const authedWrite = { preHandler: [auth] };
  /** A GET that changes something: the cross-site check applies to it as to a POST. */
  const changes = { changesState: true };

  app.post(
    '/account/register',
    {
      schema: {
        tags: TAG,
        summary: 'Register with the 6-digit code from the platform official account (last_name); binds that WeChat',
        body: z.object({
          username: z.string().max(100),
          password: z.string().max(200),
          last_name: z.string().max(20),
          csrf_token: z.string().optional(),
        }),
        response: { 200: signedIn },
      },
    },
    async (req) => {
      const r = await members.register(
        { username: req.body.username.trim(), password: req.body.password, code: req.body.last_name.trim() },
        clientIp(req),
      );
      return { code: 200, message: 'ok', id: r.id };
    },
  );

  app.post(
    '/account/login',
    {
      schema: {
        tags: TAG,
        summary: "Log in; sets the session cookie and answers the member's id (the id the rule routes take)",
        body: z.object({ username: z.string().max(100), password: z.string().max(200), csrf_token: z.string().optional() }),
        response: { 200: signedIn },
      },
    },
    async (req, reply) => {
      const r = await members.login({ username: req.body.username.trim(), password: req.body.password }, clientIp(req));
      setSessionCookie(reply, r.token, r.expiresAt, opts.secureCookies);
      return { code: 200, message: 'ok', id: r.id };
    },
  );

  app.get(
    '/account/logout',
    {
      config: changes,
      schema: {
        tags: TAG,
        summary: 'Log out (revokes the session); -1 when not signed in (the seed\'s "状态不允许")',
        response: { 200: ok },
      },
    },
    async (req, reply) => {
      const revoked = await members.logout(sessionToken(req).token);
      clearSessionCookie(reply, opts.secureCookies);
      if (!revoked) throw notSignedIn();
      return { code: 200, message: 'ok' };
    },
  );

  // --- rules, first dialect: ?id=<member id> must be the signed-in member (else -5)
  app.get(
    '/mongodb/show',
    {
      ...authed,
      schema: { tags: TAG, summary: "The member's rules {key: {received: reply}}", querystring: idQuery, response: { 200: ok } },
    },
    async (req) => {
      memberIdMatches(req, req.query.id);
      return { code: 200, message: 'ok', data: await members.seedView(req.member!.id) };
    },
  );
  app.post(
    '/mongodb/add',
    {
      ...authedWrite,
      schema: {
        tags: TAG,
        summary: 'Add rules {received: reply, ...}, all or nothing (-2 on a duplicate keyword)',
        querystring: idQuery,
        body: pairsBody,
        response: { 200: ok },
      },
    },
    async (req) => {
      memberIdMatches(req, req.query.id);
      const keys = await members.seedAdd(req.member!.id, req.body);
      return { code: 200, message: 'ok', keys };
    },
  );
  app.delete(
    '/mongodb/delete',
    {
      ...authedWrite,
      schema: {
        tags: TAG,
        summary: 'Delete the rule at key (-2 when there is none)',
        querystring: z.object({ id: z.string().max(20).optional(), key: z.string().max(20).optional() }),
        response: { 200: ok },
      },
    },
    async (req) => {
      memberIdMatches(req, req.query.id);
      if (!req.query.key) throw badInput('key is required');
      await members.seedDelete(req.member!.id, req.query.key);
      return { code: 200, message: 'ok' };
    },
  );

  // --- rules, second dialect: the session's member; ?id=<key> on delete and update
  // The seed's example answers the map alone (no envelope): a client walks its keys as rules.
  const ruleMap = z.record(z.string(), z.record(z.string(), z.string())).describe('{"01": {"received text": "reply"}, ...}');
  app.get(
    '/database/show',
    {
      ...authed,
      schema: {
        tags: TAG,
        summary: "The member's rules as the seed's example shows them: the map alone (errors: {code, message})",
        response: { 200: z.union([ruleMap, ok]) },
      },
    },
    async (req) => members.seedView(req.member!.id),
  );
  app.post(
    '/database/add',
    { ...authedWrite, schema: { tags: TAG, summary: 'Add rules {received: reply, ...}', body: pairsBody, response: { 200: ok } } },
    async (req) => {
      const keys = await members.seedAdd(req.member!.id, req.body);
      return { code: 200, message: 'ok', keys };
    },
  );
  const keyQuery = z.object({ id: z.string().max(20).optional() });
  const del = async (req: FastifyRequest<{ Querystring: { id?: string } }>) => {
    if (!req.query.id) throw badInput('id (the key of the rule) is required');
    await members.seedDelete(req.member!.id, req.query.id);
    return { code: 200, message: 'ok' };
  };
  for (const url of ['/database/delete', '/database/delete/']) {
    app.route({
      method: ['GET', 'DELETE'],
      url,
      ...authedWrite,
      config: changes,
      schema: {
        tags: TAG,
        summary: 'Delete the rule whose key is ?id= (GET as the seed writes it; DELETE too)',
        querystring: keyQuery,
        response: { 200: ok },
      },
      handler: del,
    });
  }
  for (const url of ['/database/update', '/database/update/']) {
    app.post(
      url,
      {
        ...authedWrite,
        schema: {
          tags: TAG,
          summary: 'Replace the rule at key ?id= with one {received: reply} pair',
          querystring: keyQuery,
          body: pairsBody,
          response: { 200: ok },
        },
      },
      async (req) => {
        if (!req.query.id) throw badInput('id (the key of the rule) is required');
        await members.seedUpdate(req.member!.id, req.query.id, req.body);
        return { code: 200, message: 'ok' };
      },
    );
  }

  // --- WeChat binding QR and the on/off switch
  app.get(
    '/wechat/testlogin',
    {
      ...authed,
      config: changes,
      schema: {
        tags: TAG,
        summary: "Make a QR code that binds the scanner's WeChat to this member; image at /static/qrimages/<pid>.png",
        querystring: z.object({ id: z.string().max(20).optional() }),
        response: { 200: ok },
      },
    },
    async (req) => {
      if (req.query.id !== undefined) memberIdMatches(req, req.query.id);
      const r = await members.makeBindQr(req.member!.id);
      return { code: 200, message: 'ok', pid: r.pid, expires_at: r.expiresAt };
    },
  );
  app.get(
    '/static/qrimages/:file',
    {
      schema: {
        tags: TAG,
        summary: 'A bind QR code (PNG); 404 once used or expired',
        params: z.object({ file: z.string().max(80) }),
        response: { 200: z.any().describe('image/png'), 404: z.string().describe('no such QR code') },
      },
    },
    async (req, reply) => {
      const png = req.params.file.endsWith('.png') ? await members.qrImage(req.params.file.slice(0, -4)) : null;
      if (!png) return reply.status(404).type('text/plain').send('no such QR code (it may have expired or been used)');
      return reply.type('image/png').header('cache-control', 'private, no-store').send(png);
    },
  );
  app.get(
    '/wechat/autoreply',
    { ...authed, schema: { tags: TAG, summary: 'Whether auto-reply is on', response: { 200: ok } } },
    async (req) => ({
      code: 200,
      message: 'ok',
      enabled: await members.enabled(req.member!.id),
    }),
  );
  app.post(
    '/wechat/autoreply',
    {
      ...authedWrite,
      schema: {
        tags: TAG,
        summary: 'Switch auto-reply on or off',
        body: z.object({ enabled: z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]) }),
        response: { 200: ok },
      },
    },
    async (req) => {
      const v = req.body.enabled;
      const enabled = v === true || v === 'true' || v === '1';
      await members.setEnabled(req.member!.id, enabled);
      return { code: 200, message: 'ok', enabled };
    },
  );
}
