/** The password rules: 8..128 characters, not common, not the username, no composition rules. */
import { describe, expect, it } from 'vitest';
import { commonPasswords, passwordProblem } from '../../src/modules/accounts/password-policy.js';

describe('accounts password policy', () => {
  it('ships at least 10,000 common passwords, most common first', () => {
    const list = commonPasswords();
    expect(list.size).toBeGreaterThanOrEqual(10_000);
    for (const p of ['password', '12345678', 'qwertyuiop', 'iloveyou', 'password1', 'sunshine']) expect(list.has(p)).toBe(true);
  });

  it('refuses short, long, common and username passwords, with a reason', () => {
    expect(passwordProblem('1234567')).toMatch(/at least 8/);
    expect(passwordProblem('x'.repeat(129))).toMatch(/at most 128/);
    expect(passwordProblem('PassWord1')).toMatch(/most common/);
    expect(passwordProblem('baseball')).toMatch(/most common/);
    expect(passwordProblem('carol123', 'Carol123')).toMatch(/username/);
  });

  it('accepts anything else, without composition rules (long lowercase phrases, CJK, exactly 8 and 128)', () => {
    expect(passwordProblem('correct horse battery staple')).toBeNull();
    expect(passwordProblem('我的密码很长而且好记')).toBeNull();
    expect(passwordProblem('kq8vz3rm')).toBeNull();
    expect(passwordProblem('k'.repeat(127) + 'q')).toBeNull();
    // Characters, not UTF-16 units: 8 emoji are 8 characters.
    expect(passwordProblem('🙂🙃🙂🙃🙂🙃🙂🙃')).toBeNull();
  });
});
