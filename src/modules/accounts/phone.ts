/**
 * Phone numbers of addresses: any number libphonenumber-js (Google's metadata, the `max` set,
 * which checks number ranges and not only lengths) calls valid, mainland numbers without a
 * country code, others with their "+" code. Stored form: a mainland number as its national
 * digits (`13812345678`, `01012345678`: what the seed's clients send and show), any other as
 * E.164 (`+442079460958`).
 *
 * One exception, for the seed's own clients (issue 12): a number written without a "+" that the
 * metadata does not know (the seed's list example "12345678901") is kept as typed when it is 5 to
 * 20 digits, spaces or dashes. Nothing about a phone guards anything, so an old client's value is
 * not refused; a "+" number must be valid, and the member pages ask for a valid one.
 */
import { createRequire } from 'node:module';

/** libphonenumber-js with its `max` metadata (~0.5 MB of code and data), loaded by the first phone number (issue 15, idle memory). */
let phones: typeof import('libphonenumber-js/max') | undefined;

/** Longest input looked at (digits, spaces, dashes, brackets, a leading "+"). */
export const PHONE_INPUT_MAX = 30;
/** Longest stored form: "+" and at most 15 digits (E.164). */
export const PHONE_STORED_MAX = 16;

/** A national-form number kept as typed when the metadata does not know it (see above). */
const AS_TYPED = /^\d[\d -]{3,18}\d$/;

/** The stored form of a phone number, or undefined when it is not a valid one. */
export function normalizePhone(input: string): string | undefined {
  const s = input.trim();
  if (!s || s.length > PHONE_INPUT_MAX || !/^\+?[\d\s\-().]+$/.test(s)) return undefined;
  phones ??= createRequire(import.meta.url)('libphonenumber-js/max') as typeof import('libphonenumber-js/max');
  const p = phones.parsePhoneNumberFromString(s, 'CN');
  if (p?.isValid()) return p.country === 'CN' ? p.formatNational().replace(/\D/g, '') : p.number;
  return AS_TYPED.test(s) ? s : undefined;
}
