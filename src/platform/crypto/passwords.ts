/**
 * Passwords: argon2id with 19 MiB, 2 iterations, 1 lane (OWASP's minimum recommendation), run on
 * libuv's thread pool by @node-rs/argon2 so hashing never blocks the event loop.
 */
import { hash, verify, Algorithm } from '@node-rs/argon2';

const PARAMS = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** A hash of a random password: verify against it when the account does not exist, so both cases cost the same. */
let dummy: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummy ??= hashPassword(`dummy-${Math.random()}`);
  return dummy;
}
