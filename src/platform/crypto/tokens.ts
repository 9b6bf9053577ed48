/**
 * Random secrets and their hashes. Link and session tokens are 256 random bits (base64url) and are
 * stored only as SHA-256 hashes: they are high-entropy, so a fast hash is enough and lets a lookup
 * hit an index. Short codes (6 digits) are guessable: callers must also limit tries.
 */
import { hash, randomBytes, randomInt } from 'node:crypto';

/** A random token of `bytes` bytes (default 32 = 256 bits), base64url. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * SHA-256 of a token, hex; what the database keeps. One-shot `crypto.hash` skips the Hash object
 * and its stream machinery that `createHash` builds: it runs on every authenticated request.
 */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

/** A string of `digits` decimal digits from the CSPRNG (uniform, leading zeros kept). */
export function randomDigits(digits = 6): string {
  let s = '';
  for (let i = 0; i < digits; i++) s += String(randomInt(0, 10));
  return s;
}

/**
 * Constant-time string comparison (time depends only on the lengths): every UTF-16 code unit is
 * compared, with no branch on what they hold. Over char codes rather than two Buffer.from and
 * crypto.timingSafeEqual (issue 15: a session check compares openids on every mini-program call;
 * callgrind, a 28-character openid: ~3.6k instructions that way, ~1.8k this way; bench/README.md,
 * "Hot paths, an eleventh pass"). Unlike UTF-8 bytes, it tells lone surrogates apart.
 */
export function safeEqual(a: string, b: string): boolean {
  const n = a.length;
  // Lengths differ: compare `a` with itself, so the work done does not reveal where they differ.
  const other = b.length === n ? b : a;
  let diff = n ^ b.length;
  for (let i = 0; i < n; i++) diff |= a.charCodeAt(i) ^ other.charCodeAt(i);
  return diff === 0;
}
