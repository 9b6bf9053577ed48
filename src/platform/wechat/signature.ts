/**
 * WeChat callback signatures: `signature` = sha1 of the sorted token, timestamp and nonce;
 * `msg_signature` (safe mode) adds the Encrypt field. Compared in constant time; the timestamp
 * must be recent so a captured request cannot be replayed later.
 */
import { hash } from 'node:crypto';
import { safeEqual } from '../crypto/tokens.js';

/** How far a callback's timestamp may be from our clock (either way). */
export const DEFAULT_MAX_AGE_SECONDS = 300;

/** sha1 hex of the lexicographically sorted parts joined, WeChat's signature scheme. */
export function wechatSignature(...parts: string[]): string {
  // One-shot hash: about half the cost of createHash().update().digest() on every callback.
  return hash('sha1', [...parts].sort().join(''), 'hex');
}

/** True when `signature` is sha1(sort(token, timestamp, nonce[, encrypt])), compared in constant time. */
export function checkSignature(signature: string | undefined, token: string, timestamp: string, nonce: string, encrypt?: string): boolean {
  if (!signature || !/^[0-9a-f]{40}$/i.test(signature)) return false;
  const parts = encrypt === undefined ? [token, timestamp, nonce] : [token, timestamp, nonce, encrypt];
  return safeEqual(wechatSignature(...parts), signature.toLowerCase());
}

/** True when `timestamp` (seconds) is a plain integer within `maxAgeSeconds` of `nowMs`. */
export function isFreshTimestamp(timestamp: string | undefined, nowMs: number, maxAgeSeconds = DEFAULT_MAX_AGE_SECONDS): boolean {
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return false;
  return Math.abs(nowMs / 1000 - Number(timestamp)) <= maxAgeSeconds;
}
