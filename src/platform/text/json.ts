/**
 * Strings written into JSON by hand on hot paths (the access line, mini-program `get`'s answer):
 * a string JSON.stringify would write as it is can go between quotes unchanged.
 */

/** What JSON.stringify escapes in a string: `"`, `\`, control characters, and surrogates (a lone one). */
// eslint-disable-next-line no-control-regex -- control characters are what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * True when JSON.stringify would escape a character of `s` (a surrogate pair is counted too: it is
 * then written by JSON.stringify, exact, merely slower). The regular expression, not a loop over
 * char codes: the loop was slower in time for the access line's id, method and URL (133 -> 190 ns,
 * bench/README.md "an eighth pass") and for `get`'s seven short fields (a loop of 2,000,000 calls,
 * 2026-12-04: 37-40 ns against 45-49), though callgrind counts it fewer instructions.
 */
export function needsJsonEscape(s: string): boolean {
  return NEEDS_ESCAPE.test(s);
}
