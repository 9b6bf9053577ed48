/**
 * The password rules (NIST 800-63B style): 8 to 128 characters, not one of the most common
 * passwords (common-passwords.txt, 49,233 entries; see its NOTICE), not the username. No
 * composition rules. Returns a reason, or null when the password is acceptable.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

let common: Set<string> | undefined;

/** Finds the list next to this file (src) or, from the build in dist/, back in src/. */
function listFile(): string {
  const here = fileURLToPath(new URL('./common-passwords.txt', import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../../../src/modules/accounts/common-passwords.txt', import.meta.url));
}

/** The common-password set, loaded once (about 10 ms). */
export function commonPasswords(): Set<string> {
  common ??= new Set(readFileSync(listFile(), 'utf8').split('\n').filter((l) => l.length > 0));
  return common;
}

/** Why a password is refused (a sentence for the user), or null when it is fine. */
export function passwordProblem(password: string, username?: string): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN) return `the password must have at least ${PASSWORD_MIN} characters`;
  if (length > PASSWORD_MAX) return `the password must have at most ${PASSWORD_MAX} characters`;
  const lower = password.toLowerCase();
  if (username && lower === username.toLowerCase()) return 'the password must not be the username';
  if (commonPasswords().has(lower)) return 'this password is among the most common ones; choose another';
  return null;
}
