/**
 * The seed's eight POST endpoints under /service/user, in one encapsulated plugin with the seed's
 * envelope `{code, msg, data}` (HTTP 200). Parameters come as JSON or a form body, or in the query
 * string (the token excepted: URLs end up in logs); the body wins when both carry a name.
 * Handlers parse, call one service function, and present.
 */
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { useEnvelope } from '../../platform/http/envelope.js';
import { docsOnlySchema } from '../../platform/http/docs-only-schema.js';
import { illegal, OTHER_ERROR } from './errors.js';
import { addHistoryParams, getOpenidParams, loginParams, openidParams, parseParams, updateParams } from './params.js';
import { profileAnswerJson } from './present.js';
import type { MiniprogramService } from './service.js';
import type { SessionService } from './sessions.js';

/** Largest body these endpoints read; more is answered -1 before parsing. */
export const MINIPROGRAM_BODY_LIMIT = 64 * 1024;

const ok = <T>(data: T) => ({ code: 0, msg: 'success', data });

const profile = z.object({
  id: z.number(),
  openid: z.string(),
  phone: z.string(),
  qq: z.string(),
  cardno: z.string(),
  wxid: z.string(),
  created_at: z.string().describe('YYYY-MM-DD HH:MM:SS in TIME_ZONE'),
  modified_at: z.string(),
});
const envelope = (data: z.ZodType) =>
  z.object({ code: z.number().describe("0 on success, else the endpoint's negative code"), msg: z.string(), data });

interface Incoming {
  params: Record<string, unknown>;
  /** From the Authorization header (`Bearer <token>` or the bare token) or a `token` header. */
  headerToken?: string;
}

function incoming(req: FastifyRequest): Incoming {
  const body = req.body;
  if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) {
    throw illegal('the request body must be a JSON object or a form');
  }
  const query = (req.query ?? {}) as Record<string, unknown>;
  if (Object.prototype.hasOwnProperty.call(query, 'token')) {
    throw illegal('send the token in the body or an Authorization header, not in the URL (URLs are logged)');
  }
  const auth = req.headers.authorization ?? req.headers.token;
  const headerToken = typeof auth === 'string' ? auth.replace(/^Bearer\s+/i, '').trim() || undefined : undefined;
  // The usual call has no query string: then the body's object is the parameters as it is (zod
  // reads it and changes nothing), not a copy: the two object spreads were ~0.3 us of a `get`
  // (perf, bench/README.md "Hot paths, an eighth pass").
  const params =
    body !== undefined && body !== null && hasNoKeys(query)
      ? (body as Record<string, unknown>)
      : { ...query, ...(body as Record<string, unknown> | undefined) };
  return { params, headerToken };
}

function hasNoKeys(o: object): boolean {
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) return false;
  return true;
}

/** Registers the plugin on `app`. */
export async function registerMiniprogramRoutes(
  app: FastifyInstance,
  service: MiniprogramService,
  sessions: SessionService,
): Promise<void> {
  await app.register(
    async (scope) => {
      await scope.register(formbody, { bodyLimit: MINIPROGRAM_BODY_LIMIT });
      // Schemas describe the routes in /docs; validation happens on the merged parameters (query +
      // body) with the same zod schemas, so that every failure gets the endpoint's own code.
      scope.setValidatorCompiler(docsOnlySchema);
      scope.setSerializerCompiler(() => (data) => JSON.stringify(data));
      useEnvelope(scope, illegal, (view, req) => {
        const endpoint = (req.routeOptions.url ?? '').split('/').pop() ?? '';
        const code = view.internal ? (OTHER_ERROR[endpoint] ?? -2) : Number(view.error.code);
        return { status: 200, body: { code, msg: view.error.message, data: view.error.details ?? null } };
      });
      scope.setNotFoundHandler((req, reply) => {
        reply.status(404).send({
          code: -1,
          msg: `no endpoint ${req.method} ${req.originalUrl.split('?')[0]}; the user API is POST /service/user/<name>`,
          data: null,
        });
      });

      const tokenOf = (parsed: { token?: string }, inc: Incoming) => parsed.token ?? inc.headerToken;
      const route = (summary: string, body: z.ZodType, data: z.ZodType, codes: string) => ({
        bodyLimit: MINIPROGRAM_BODY_LIMIT,
        schema: {
          tags: ['miniprogram (seed 004)'],
          summary,
          consumes: ['application/json', 'application/x-www-form-urlencoded'],
          description: `Errors (HTTP 200): ${codes}. Token: \`token\` parameter or \`Authorization: Bearer <token>\` (not needed in trust mode).`,
          body,
          response: { 200: envelope(data) },
        },
      });

      scope.post(
        '/getOpenid',
        route(
          'Trade a wx.login() code for the openid and a session token',
          getOpenidParams,
          z.object({ openid: z.string(), token: z.string() }),
          '-1 illegal parameters or invalid js_code (40029/40163), -2 other error (WeChat busy -1, too frequent 45011, no answer, not configured)',
        ),
        async (req) => {
          const p = parseParams(getOpenidParams, incoming(req).params);
          return ok(await sessions.getOpenid(p.js_code, req.ip));
        },
      );

      scope.post(
        '/login',
        route(
          'Register (idempotent per openid); answers the profile and token',
          loginParams,
          profile.extend({ token: z.string() }),
          '-1 illegal parameters, -2 other error',
        ),
        async (req) => {
          const inc = incoming(req);
          const p = parseParams(loginParams, inc.params);
          return ok(await service.login({ ...p, token: tokenOf(p, inc) }));
        },
      );

      scope.post(
        '/loginByOpenid',
        route(
          'The registered profile and token',
          openidParams,
          profile.extend({ token: z.string() }),
          '-1 illegal parameters, -2 no such user (call login)',
        ),
        async (req) => {
          const inc = incoming(req);
          const p = parseParams(openidParams, inc.params);
          return ok(await service.loginByOpenid({ openid: p.openid, token: tokenOf(p, inc) }));
        },
      );

      scope.post(
        '/get',
        route(
          'The profile',
          openidParams,
          profile,
          '-1 illegal parameters, -2 several users (cannot happen: openid is unique), -3 other error, -4 no such user',
        ),
        async (req, reply) => {
          const inc = incoming(req);
          const p = parseParams(openidParams, inc.params);
          const view = await service.get({ openid: p.openid, token: tokenOf(p, inc) });
          // The hot path: the envelope's bytes built by hand (present.ts), as the serializer would write them.
          reply.type('application/json; charset=utf-8');
          return reply.send(profileAnswerJson(view));
        },
      );

      scope.post(
        '/update',
        route(
          'Change phone, qq, cardno, wxid; `update` is a JSON string',
          updateParams,
          z.array(z.never()),
          '-1 illegal parameters or fields, -2 other error (e.g. not registered), -3 update is not valid JSON, -4 update is not a JSON object',
        ),
        async (req) => {
          const inc = incoming(req);
          const p = parseParams(updateParams, inc.params);
          return ok(await service.update({ openid: p.openid, token: tokenOf(p, inc) }, p.update));
        },
      );

      scope.post(
        '/addHistory',
        route(
          'Add a search term (newest first, at most 50, each at most 100 characters)',
          addHistoryParams,
          z.array(z.string()),
          '-1 illegal parameters, -2 other error',
        ),
        async (req) => {
          const inc = incoming(req);
          const p = parseParams(addHistoryParams, inc.params);
          return ok(await service.addHistory({ openid: p.openid, token: tokenOf(p, inc) }, p.hist));
        },
      );

      scope.post(
        '/getHistory',
        route('The search history, newest first', openidParams, z.array(z.string()), '-1 illegal parameters, -2 other error'),
        async (req) => {
          const inc = incoming(req);
          const p = parseParams(openidParams, inc.params);
          return ok(await service.getHistory({ openid: p.openid, token: tokenOf(p, inc) }));
        },
      );

      scope.post(
        '/cleanHistory',
        route('Forget the search history', openidParams, z.array(z.never()), '-1 illegal parameters, -2 other error'),
        async (req) => {
          const inc = incoming(req);
          const p = parseParams(openidParams, inc.params);
          return ok(await service.cleanHistory({ openid: p.openid, token: tokenOf(p, inc) }));
        },
      );
    },
    { prefix: '/service/user' },
  );
}
