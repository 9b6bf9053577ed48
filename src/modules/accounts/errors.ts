/**
 * The seed's appendix codes (003, "用户模块异常状态码参考") and the one error class the accounts
 * services throw. Every answer is HTTP 200 with `{code, error}` like the seed; see README.md for
 * which situation gives which code.
 */
import { AppError } from '../../platform/http/errors.js';

export const C = {
  OK: 200,
  INVALID_PARAMS: 10100,
  NOT_LOGGED_IN: 10101,
  NEW_PASSWORDS_DIFFER: 10102,
  OLD_PASSWORD_WRONG: 10103,
  /** Also: the account is not activated yet (the seed has no code of its own for that). */
  USER_QUERY_ERROR: 10104,
  CODE_STORE_FAILED: 10105,
  CODE_DEAD: 10106,
  OLD_PASSWORD_MISSING: 10107,
  INVALID_PASSWORD: 10108,
  CONFIRM_WRONG: 10109,
  PASSWORDS_DIFFER: 10110,
  OLD_PASSWORD_WRONG_2: 10111,
  LINK_INVALID: 10112,
  LINK_MALFORMED: 10113,
  ADDRESS_QUERY: 10114,
  BAD_RECEIVER: 10115,
  BAD_ADDRESS: 10116,
  BAD_PHONE: 10117,
  BAD_POSTCODE: 10118,
  BAD_TAG: 10119,
  ADDRESS_STORE: 10120,
  ADDRESS_GET: 10121,
  ADDRESS_ID: 10122,
  ADDRESS_MODIFY: 10123,
  // 10124-10130: Weibo login, out of scope, reserved (10126 and 10127 are reused for registration).
  BAD_EMAIL: 10126,
  BAD_USERNAME: 10127,
  CREATE_USER_FAILED: 10128,
  /** The seed lists 10131 twice ("invalid phone number" and "repeated requests"); we use it for rate limits. */
  TOO_MANY: 10131,
  CODE_WRONG: 10132,
  SAME_PASSWORD: 10133,
  CANNOT_GET_USER: 10134,
} as const;

/** An accounts error: always answered `{code, error}` with HTTP 200. */
export class AccountsError extends AppError {
  constructor(
    code: number,
    message: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(code, message, 200);
    this.name = 'AccountsError';
  }
}

export const fail = (code: number, message: string, extra?: Record<string, unknown>) => new AccountsError(code, message, extra);
