/**
 * Random secrets and their hashes. Link and session tokens are 256 random bits (base64url) and are
 * stored only as SHA-256 hashes: they are high-entropy, so a fast hash is enough and lets a lookup
 * hit an index. Short codes (6 digits) are guessable: callers must also limit tries.
 */
import { hash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

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

/** Constant-time string comparison (time depends only on the lengths). */
export function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  if (ba.length !== bb.length) {
    // Compare against itself so the work done does not reveal where the strings differ.
    timingSafeEqual(ba, ba);
    return false;
  }
  return timingSafeEqual(ba, bb);
}
