/**
 * The seed's error codes, per endpoint. Every endpoint uses -1 for illegal parameters (bad input,
 * missing or wrong token); the others differ, so each error names its code explicitly.
 */
import { AppError } from '../../platform/http/errors.js';

/** An answer `{code, msg, data}` with a negative seed code; `data` is null unless given. */
export class MpError extends AppError {
  constructor(code: number, message: string, data?: unknown) {
    super(code, message, 200, data);
    this.name = 'MpError';
  }
}

/** -1 on every endpoint: the submitted parameters are illegal. */
export const ILLEGAL = -1;

/** Each endpoint's "other error, see msg" code, used for outages and unexpected failures. */
export const OTHER_ERROR: Record<string, number> = {
  login: -2,
  getOpenid: -2,
  loginByOpenid: -2,
  get: -3,
  update: -2,
  addHistory: -2,
  getHistory: -2,
  cleanHistory: -2,
};

export function illegal(message: string): MpError {
  return new MpError(ILLEGAL, message);
}
