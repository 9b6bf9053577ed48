import { parsePhoneNumberFromString } from 'libphonenumber-js/min';

/**
 * Checks made in the page before sending (the server checks again, with the same rules as
 * src/modules/accounts/schemas.ts and password-policy.ts). Each returns an i18n key + values, or null.
 */

export type Problem = { key: string; values?: Record<string, unknown> } | null;

const EMAIL = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:".]{2,}$/;
const USERNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{2,29}$/;
const RESERVED = new Set(['password', 'address', 'activation', 'tokens', 'admin', 'root']);
/** Characters as a person counts them (a Chinese character, an emoji: one each). */
const chars = (s: string) => [...s].length;

export function required(s: string): Problem {
  return s.trim() ? null : { key: 'errors.required' };
}

export function email(s: string): Problem {
  if (!s.trim()) return { key: 'errors.required' };
  return EMAIL.test(s.trim()) && s.trim().length <= 254 ? null : { key: 'errors.email' };
}

export function username(s: string): Problem {
  if (!s.trim()) return { key: 'errors.required' };
  if (!USERNAME.test(s)) return { key: 'errors.username' };
  return RESERVED.has(s.toLowerCase()) ? { key: 'errors.usernameReserved' } : null;
}

/** Length and "not the username": the strength check (zxcvbn, its dictionaries) is the server's. */
export function newPassword(pw: string, user?: string): Problem {
  if (!pw) return { key: 'errors.required' };
  if (chars(pw) < 8) return { key: 'errors.pwShort' };
  if (chars(pw) > 128) return { key: 'errors.pwLong' };
  if (user && pw.toLowerCase() === user.trim().toLowerCase()) return { key: 'errors.pwUser' };
  return null;
}

export function confirm(pw1: string, pw2: string): Problem {
  if (!pw2) return { key: 'errors.required' };
  return pw1 === pw2 ? null : { key: 'errors.pwDiffer' };
}

export function maxLen(s: string, n: number): Problem {
  if (!s.trim()) return { key: 'errors.required' };
  return chars(s.trim()) <= n ? null : { key: 'errors.maxLen', values: { n } };
}

export function optionalMaxLen(s: string, n: number): Problem {
  return chars(s.trim()) <= n ? null : { key: 'errors.maxLen', values: { n } };
}

/**
 * A mainland number without a country code, any other with its "+" code (libphonenumber-js with
 * its small metadata: lengths per country; the server checks number ranges too).
 */
export function phone(s: string): Problem {
  const v = s.trim();
  if (!v) return { key: 'errors.required' };
  if (v.length > 30 || !/^\+?[\d\s\-().]+$/.test(v)) return { key: 'errors.phone' };
  return parsePhoneNumberFromString(v, 'CN')?.isValid() ? null : { key: 'errors.phone' };
}

/** Optional; when given: 3-10 letters, digits, spaces or hyphens with a digit (6 digits in mainland China). */
export function postcode(s: string): Problem {
  const v = s.trim();
  if (!v) return null;
  return /^[A-Za-z0-9][A-Za-z0-9 -]{1,8}[A-Za-z0-9]$/.test(v) && /\d/.test(v) ? null : { key: 'errors.postcode' };
}

export function code6(s: string): Problem {
  if (!s.trim()) return { key: 'errors.required' };
  return /^\d{6}$/.test(s.trim()) ? null : { key: 'errors.code' };
}
