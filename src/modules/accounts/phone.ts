/**
 * Phone numbers of addresses: any number libphonenumber-js (Google's metadata, the `max` set,
 * which checks number ranges and not only lengths) calls valid, mainland numbers without a
 * country code, others with their "+" code. Stored form: a mainland number as its national
 * digits (`13812345678`, `01012345678`: what the seed's clients send and show), any other as
 * E.164 (`+442079460958`).
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** Longest input looked at (digits, spaces, dashes, brackets, a leading "+"). */
export const PHONE_INPUT_MAX = 30;
/** Longest stored form: "+" and at most 15 digits (E.164). */
export const PHONE_STORED_MAX = 16;

/** The stored form of a phone number, or undefined when it is not a valid one. */
export function normalizePhone(input: string): string | undefined {
  const s = input.trim();
  if (!s || s.length > PHONE_INPUT_MAX || !/^\+?[\d\s\-().]+$/.test(s)) return undefined;
  const p = parsePhoneNumberFromString(s, 'CN');
  if (!p || !p.isValid()) return undefined;
  return p.country === 'CN' ? p.formatNational().replace(/\D/g, '') : p.number;
}
