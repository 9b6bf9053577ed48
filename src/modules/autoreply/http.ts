/**
 * HTTP plumbing of the autoreply plugin: one error handler that answers the seed's envelope
 * (HTTP 200, `{code, message}` with the seed's numbers) on the seed's paths and `{code, message}`
 * with a real status on /api/v2; the session cookie. (The cross-site check is the platform's:
 * platform/http/origins.ts; its refusal `cross_site` is mapped here.)
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/cookie';
import { useEnvelope } from '../../platform/http/envelope.js';
import type { MembersService } from './members-service.js';
import { badInput, notSignedIn } from './errors.js';

export const SESSION_COOKIE = 'ar_session';

/** The seed's numbers for the module's error codes (0 = unknown). */
const SEED_CODES: Record<string, number> = {
  not_signed_in: -1,
  bad_code: -1,
  cross_site: -1,
  username_taken: -2,
  duplicate_keyword: -2,
  rule_not_found: -2,
  qr_in_progress: -2,
  bad_login: -3,
  not_activated: -3,
  wechat_not_configured: -3,
  wechat_failed: -3,
  wechat_refused: -3,
  bad_input: -4,
  limit_reached: -4,
  user_mismatch: -5,
  rate_limited: 0,
};

export function isSeedPath(url: string): boolean {
  return !url.startsWith('/api/');
}

export function installEnvelope(app: FastifyInstance): void {
  useEnvelope(app, badInput, (view, req) => {
    const e = view.error;
    if (req.url.startsWith('/wechat/callback')) {
      // WeChat only looks at the status; the text helps whoever reads the logs.
      const status = view.internal ? 500 : /too large/.test(e.message) ? 413 : 400;
      return { status, body: view.internal ? (view.unavailable ? e.message : 'internal error') : e.message };
    }
    if (isSeedPath(req.url)) {
      // The seed answers HTTP 200 for everything but its (future) CSRF check.
      const status = e.code === 'cross_site' ? 403 : 200;
      return { status, body: { code: SEED_CODES[String(e.code)] ?? 0, message: e.message } };
    }
    // A cap says which one and its number, so a client can show it.
    const extra = e.code === 'limit_reached' && e.details && typeof e.details === 'object' ? (e.details as Record<string, unknown>) : {};
    return { status: e.status, body: { code: String(e.code), message: e.message, ...extra } };
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in member (set by requireMember). */
    member?: { id: number; username: string };
    /** How the member authenticated: a cookie needs the cross-site check, a bearer header does not. */
    viaCookie?: boolean;
  }
}

export function sessionToken(req: FastifyRequest): { token?: string; viaCookie: boolean } {
  const h = req.headers.authorization;
  if (h && /^Bearer\s+\S+$/i.test(h.trim())) return { token: h.trim().replace(/^Bearer\s+/i, ''), viaCookie: false };
  const c = (req.cookies as Record<string, string | undefined> | undefined)?.[SESSION_COOKIE];
  return { token: c, viaCookie: true };
}

/** preHandler: resolves the session or answers "sign in first". */
export function requireMember(members: MembersService) {
  return async (req: FastifyRequest) => {
    const { token, viaCookie } = sessionToken(req);
    const m = await members.resolve(token);
    if (!m) throw notSignedIn();
    req.member = m;
    req.viaCookie = viaCookie;
  };
}

export function setSessionCookie(reply: FastifyReply, token: string, expiresAt: number, secure: boolean): void {
  reply.setCookie(SESSION_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'lax', secure, expires: new Date(expiresAt) });
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure });
}

/** The client's address for rate limits. */
export function clientIp(req: FastifyRequest): string {
  return req.ip || 'unknown';
}
