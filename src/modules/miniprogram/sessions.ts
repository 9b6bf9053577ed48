/**
 * Sessions of the mini-program: `getOpenid` trades a wx.login() code for the openid (through
 * WeChat's jscode2session) and a random token; every other call proves the openid with that token.
 * The token is 256 random bits, stored only as its SHA-256; WeChat's session_key is sealed with
 * core.secrets and never leaves the server. Sessions expire a fixed 30 days after issue (not
 * sliding: a read never has to write), and an openid keeps at most its 10 newest sessions.
 */
import type { Logger } from 'pino';
import type { SecretBox } from '../../platform/crypto/secretbox.js';
import { hashToken, randomToken, safeEqual } from '../../platform/crypto/tokens.js';
import type { AttemptLimiter } from '../../platform/limits/attempts.js';
import { clientKey as limitKeyOf, windowRule } from '../../platform/limits/attempts.js';
import { WechatApiError, WechatUnavailableError, type WechatHttpOptions } from '../../platform/wechat/http.js';
import type { Code2SessionResult } from '../../platform/wechat/jscode2session.js';
import { illegal, MpError } from './errors.js';
import type { MiniprogramRepo, SessionRow } from './repo.js';

export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
export const SESSIONS_KEPT_PER_OPENID = 10;
const SWEEP_EVERY_MS = 3600 * 1000;

export interface SessionDeps {
  repo: Pick<MiniprogramRepo, 'insertSession' | 'pruneSessions' | 'deleteExpiredSessions' | 'findSession'>;
  secrets: Pick<SecretBox, 'seal'>;
  logger: Pick<Logger, 'warn' | 'info' | 'error'>;
  now: () => number;
  /** The mini-program's credentials; undefined when not configured. */
  app?: { appid: string; secret: string };
  http: WechatHttpOptions;
  code2session: (http: WechatHttpOptions, app: { appid: string; secret: string }, jsCode: string) => Promise<Code2SessionResult>;
  /** getOpenid calls per client address per minute (WeChat itself limits per user, 45011). */
  getOpenidPerMinute?: number;
  /** The database-backed limiter (the limit holds for the whole fleet). */
  limiter: AttemptLimiter;
}

const TOKEN_HELP = 'call getOpenid and send its token as the token parameter or an Authorization header';

/** Builds the session half of the service. */
export function createSessionService(deps: SessionDeps) {
  const perMinute = deps.getOpenidPerMinute ?? 300;
  let lastSweep = 0;

  async function issue(openid: string, sessionKey: string | null): Promise<string> {
    const now = deps.now();
    const token = randomToken(32);
    await deps.repo.insertSession({
      token_hash: hashToken(token),
      openid,
      session_key: sessionKey === null ? null : deps.secrets.seal(sessionKey),
      created_at: now,
      expires_at: now + SESSION_TTL_MS,
    });
    await deps.repo.pruneSessions(openid, now, SESSIONS_KEPT_PER_OPENID);
    if (now - lastSweep > SWEEP_EVERY_MS) {
      lastSweep = now;
      try {
        // Awaited (not fire-and-forget) so that nothing runs on after the caller has answered.
        await deps.repo.deleteExpiredSessions(now);
      } catch (err) {
        deps.logger.error({ err }, 'miniprogram: sweeping expired sessions failed');
      }
    }
    return token;
  }

  return {
    /** jscode2session, then a new session: answers `{openid, token}` (never the session_key). */
    async getOpenid(jsCode: string, clientKey: string): Promise<{ openid: string; token: string }> {
      if (!deps.app) {
        throw new MpError(
          -2,
          'the mini-program login is not configured on this server (WECHAT_MINIPROGRAM_APPID and WECHAT_MINIPROGRAM_SECRET)',
        );
      }
      // Reserved before the call to WeChat: each call counts, whatever WeChat answers.
      const r = await deps.limiter.reserve([windowRule(`mp.getOpenid:client:${limitKeyOf(clientKey)}`, perMinute, 60_000)]);
      if (!r.ok) throw new MpError(-2, `too many getOpenid calls from this address; try again in ${Math.ceil(r.retryAfterMs / 1000)} s`);
      let result: Code2SessionResult;
      try {
        result = await deps.code2session(deps.http, deps.app, jsCode);
      } catch (err) {
        throw wechatFailure(err, deps.logger);
      }
      const token = await issue(result.openid, result.sessionKey);
      return { openid: result.openid, token };
    },

    /** A new session without a session_key (trust mode's logins). */
    issue,

    /**
     * The session of `token` if it belongs to `openid` and has not expired; else the endpoint's
     * -1. Nothing else is read before this passes.
     */
    check(session: SessionRow | undefined, openid: string): void {
      if (!session || !safeEqual(session.openid, openid) || session.expires_at <= deps.now()) {
        throw illegal(`token is invalid or expired, or belongs to another openid; ${TOKEN_HELP}`);
      }
    },

    /** The hash to look the token up by; -1 when no token came with the request. */
    hashOf(token: string | undefined): string {
      if (!token) throw illegal(`token is required: ${TOKEN_HELP}`);
      return hashToken(token);
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;

/** WeChat's answers to jscode2session as the seed's codes, with a message a developer can act on. */
function wechatFailure(err: unknown, logger: SessionDeps['logger']): MpError {
  if (err instanceof WechatApiError) {
    logger.warn({ errcode: err.errcode, errmsg: err.errmsg }, 'miniprogram: jscode2session refused');
    const data = { errcode: err.errcode };
    switch (err.errcode) {
      case 40029:
        return new MpError(-1, 'js_code is invalid or expired (WeChat errcode 40029); call wx.login() again', data);
      case 40163:
        return new MpError(-1, 'js_code has already been used (WeChat errcode 40163); call wx.login() again', data);
      case 45011:
        return new MpError(-2, 'WeChat refused: too many logins for this user (errcode 45011); try again in a minute', data);
      case -1:
        return new MpError(-2, 'WeChat is busy (errcode -1); try again in a moment', data);
      case 40013:
      case 40125:
      case 41002:
      case 41004:
        return new MpError(
          -2,
          `the server's mini-program appid or secret is wrong (WeChat errcode ${err.errcode}); tell the operator`,
          data,
        );
      case 40226:
        return new MpError(-2, 'WeChat blocked this login as high-risk (errcode 40226)', data);
      default:
        return new MpError(-2, `WeChat refused the login (errcode ${err.errcode}: ${err.errmsg.slice(0, 200)})`, data);
    }
  }
  if (err instanceof WechatUnavailableError) {
    logger.warn({ path: err.path, timedOut: err.timedOut, reason: err.message }, 'miniprogram: jscode2session unavailable');
    return new MpError(-2, `${err.message}; try again`);
  }
  throw err;
}
