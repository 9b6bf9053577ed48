/**
 * WeChat's `jscode2session`: trades the one-time `js_code` a mini-program gets from `wx.login()`
 * for the user's openid and a `session_key`. The session_key is a secret shared with WeChat: the
 * caller must keep it server side (sealed), never answer it, never log it.
 */
import { callWechat, WechatUnavailableError, type WechatHttpOptions } from './http.js';

export const JSCODE2SESSION_PATH = '/sns/jscode2session';

export interface Code2SessionResult {
  openid: string;
  sessionKey: string;
  unionid?: string;
}

/**
 * Calls jscode2session (GET with appid, secret, js_code, grant_type=authorization_code).
 * Throws WechatApiError for WeChat's errcodes (40029 invalid code, 40163 code used, 45011 too
 * frequent, -1 busy, ...) and WechatUnavailableError on timeout, unreachable, or an answer
 * without an openid/session_key.
 */
export async function jscode2session(
  http: WechatHttpOptions,
  app: { appid: string; secret: string },
  jsCode: string,
): Promise<Code2SessionResult> {
  const json = await callWechat<{ openid?: unknown; session_key?: unknown; unionid?: unknown }>(http, JSCODE2SESSION_PATH, {
    query: { appid: app.appid, secret: app.secret, js_code: jsCode, grant_type: 'authorization_code' },
  });
  if (typeof json.openid !== 'string' || json.openid === '' || typeof json.session_key !== 'string' || json.session_key === '') {
    // Deliberately not echoing the answer: it may hold the session_key.
    throw new WechatUnavailableError(`WeChat ${JSCODE2SESSION_PATH} answered without an openid or session_key`, JSCODE2SESSION_PATH);
  }
  return {
    openid: json.openid,
    sessionKey: json.session_key,
    unionid: typeof json.unionid === 'string' && json.unionid !== '' ? json.unionid : undefined,
  };
}
