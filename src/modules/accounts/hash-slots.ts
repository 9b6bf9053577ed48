/**
 * At most (cores - 1) argon2id computations at once in this process (at least 1). Hashing runs on
 * libuv's thread pool (4 threads by default): unbounded, four 19 MiB hashes would take both cores
 * of a small machine from the event loop, and every other request (an address lookup) would wait
 * behind them. With a slot per spare core, logins queue among themselves instead.
 */
import { availableParallelism } from 'node:os';
import { hashPassword, verifyPassword } from '../../platform/crypto/passwords.js';

const SLOTS = Math.max(1, availableParallelism() - 1);
let busy = 0;
const waiting: Array<() => void> = [];

async function withSlot<T>(work: () => Promise<T>): Promise<T> {
  if (busy >= SLOTS) await new Promise<void>((resolve) => waiting.push(resolve));
  else busy++;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else busy--;
  }
}

/** argon2id hash, within the slots. */
export function hashInSlot(password: string): Promise<string> {
  return withSlot(() => hashPassword(password));
}

/** argon2id verify, within the slots. */
export function verifyInSlot(stored: string, password: string): Promise<boolean> {
  return withSlot(() => verifyPassword(stored, password));
}

/** How many hash computations are queued (for diagnostics and tests). */
export function hashQueueLength(): number {
  return waiting.length;
}
