/**
 * Passwords: argon2id with 19 MiB, 2 iterations, 1 lane (OWASP's minimum recommendation), run on
 * libuv's thread pool by @node-rs/argon2 so hashing never blocks the event loop.
 *
 * The native module is loaded on the first hash or verify (a member account's registration or
 * sign-in), not at start: its code (~0.5 MB of mapped pages) stays out of an instance that only
 * sends certificates (issue 15, idle memory; test/platform/startup-footprint.test.ts).
 */
import type { Algorithm } from '@node-rs/argon2';

// Argon2id's number in the package's const enum, written out: a value import of the enum would
// load the native module at start under per-file transforms (tsx, esbuild), which cannot inline it.
const ARGON2ID: Algorithm.Argon2id = 2;
const PARAMS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

let argon2: Promise<typeof import('@node-rs/argon2')> | undefined;
const lib = () => (argon2 ??= import('@node-rs/argon2'));

export async function hashPassword(password: string): Promise<string> {
  return (await lib()).hash(password, PARAMS);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await (await lib()).verify(stored, password);
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
