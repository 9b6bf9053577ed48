/**
 * The module's errors. Codes are strings for the REST API; seed-envelope.ts maps them to the
 * seed's numbers (0 unknown, -1 not signed in / bad code, -2 taken or duplicate or key missing,
 * -3 wrong login, -4 bad parameters, -5 user mismatch).
 */
import { AppError } from '../../platform/http/errors.js';

export const badInput = (message: string) => new AppError('bad_input', message, 400);
/** A refused password: bad input (-4 on the seed's paths) with the policy's reason code. */
export const weakPassword = (message: string, reason: string) => new AppError('bad_input', message, 400, { reason });
export const duplicateKeyword = (keyword: string) =>
  new AppError('duplicate_keyword', `keyword "${keyword}" is already used by another rule`, 409);
/** A per-member cap (accounts, rules, bytes of rules): 409 on /api/v2, -4 on the seed's paths. */
export const limitReached = (message: string, details: { limit: string; max: number }) =>
  new AppError('limit_reached', message, 409, details);
export const ruleNotFound = (what = 'no such rule') => new AppError('rule_not_found', what, 404);
export const accountNotFound = () => new AppError('account_not_found', 'no such official account', 404);
export const notSignedIn = () => new AppError('not_signed_in', 'sign in first', 401);
export const userMismatch = () => new AppError('user_mismatch', 'this id is not the signed-in member', 403);
export const badCode = (message = 'the verification code is wrong, used or expired; send "验证码" to the official account for a new one') =>
  new AppError('bad_code', message, 400);
export const usernameTaken = () => new AppError('username_taken', 'this username is taken', 409);
export const badLogin = () => new AppError('bad_login', 'wrong username or password', 401);
export const notActivated = () =>
  new AppError('not_activated', 'this account is not activated yet: open the link in the activation mail first', 403);
export const wechatNotConfigured = () =>
  new AppError(
    'wechat_not_configured',
    'WeChat is not configured on this server (WECHAT_MP_APPID, WECHAT_MP_SECRET, WECHAT_MP_TOKEN)',
    503,
  );
export const qrInProgress = () => new AppError('qr_in_progress', 'a QR code is being made; try again in a moment', 409);
export const wechatFailed = (message: string) => new AppError('wechat_failed', message, 502);
