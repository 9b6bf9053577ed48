/**
 * The password rules, the same wherever a member's password is set (accounts registration, change
 * and reset; the assistant's registration): 8 to 128 characters, not the username, and strong
 * enough by zxcvbn-ts (score >= 2 of 4, see platform/passwords/strength.ts: common passwords,
 * words, names, keyboard rows, sequences, repeats, dates, l33t all count as easy). No composition
 * rules. Answers why a password is refused, or null when it is fine.
 */
import { MIN_SCORE, passwordStrength, StrengthBusyError } from '../../platform/passwords/strength.js';

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

/** Why a password is refused: a code for pages to translate, and a sentence for people. */
export interface PasswordProblem {
  reason: 'too_short' | 'too_long' | 'is_username' | 'too_weak' | 'busy';
  message: string;
}

/** Why a password is refused, or null when it is fine. */
export async function passwordProblem(password: string, username?: string, email?: string | null): Promise<PasswordProblem | null> {
  const length = [...password].length;
  if (length < PASSWORD_MIN) return { reason: 'too_short', message: `the password must have at least ${PASSWORD_MIN} characters` };
  if (length > PASSWORD_MAX) return { reason: 'too_long', message: `the password must have at most ${PASSWORD_MAX} characters` };
  if (username && password.toLowerCase() === username.toLowerCase())
    return { reason: 'is_username', message: 'the password must not be the username' };
  let s;
  try {
    s = await passwordStrength(password, [username ?? '', email ?? '', ...(email ? email.split(/[@.]/) : [])]);
  } catch (err) {
    if (err instanceof StrengthBusyError) return { reason: 'busy', message: err.message };
    throw err;
  }
  if (s.score >= MIN_SCORE) return null;
  const why = [s.warning, ...s.suggestions].filter(Boolean).join(' ');
  return { reason: 'too_weak', message: `this password is too easy to guess${why ? `: ${why}` : ''}` };
}
