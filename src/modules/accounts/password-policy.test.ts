/** The password rules: 8..128 characters, not the username, strong enough by zxcvbn-ts; no composition rules. */
import { describe, expect, it } from 'vitest';
import { passwordProblem } from './password-policy.js';

describe('accounts password policy', () => {
  it('refuses short, long, common, guessable and username passwords, with a reason', async () => {
    expect(await passwordProblem('1234567')).toMatchObject({ reason: 'too_short', message: expect.stringMatching(/at least 8/) });
    expect(await passwordProblem('x'.repeat(129))).toMatchObject({ reason: 'too_long', message: expect.stringMatching(/at most 128/) });
    expect(await passwordProblem('carol123', 'Carol123')).toMatchObject({ reason: 'is_username' });
    for (const p of ['PassWord1', 'baseball', 'password123', 'qwertyuiop', 'k'.repeat(127) + 'q', 'carolcarol2024']) {
      expect(await passwordProblem(p, 'carol'), p).toMatchObject({
        reason: 'too_weak',
        message: expect.stringMatching(/too easy to guess/),
      });
    }
  });

  it('accepts strong passwords without composition rules (long lowercase phrases, CJK, random 8)', async () => {
    for (const p of [
      'correct horse battery staple',
      '我的密码很长而且好记',
      'kq8vz3rm',
      'Tarnished-Ocelot-Quarry-42',
      '🙂🙃🦊🐢🌵🍄🎈🧭',
    ]) {
      expect(await passwordProblem(p, 'carol'), p).toBeNull();
    }
  });

  it('answers a crafted worst case without stalling the event loop', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = Date.now();
    const r = await passwordProblem('aB3$'.repeat(32));
    clearInterval(timer);
    expect(r === null || r.reason === 'too_weak').toBe(true);
    // The loop kept turning while the worker checked (at least one tick per ~50 ms elapsed).
    expect(ticks).toBeGreaterThanOrEqual(Math.floor((Date.now() - started) / 50));
  });
});
