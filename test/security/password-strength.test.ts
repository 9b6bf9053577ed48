/**
 * Issue 10 item 12: weak passwords accepted. Every place a member's password is set refuses the
 * ones zxcvbn sees through, in that API's envelope, with the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { startAccountsEnv, type AccountsTestEnv } from '../accounts/helpers.js';
import { codeFor, startAutoreply, type Ctx } from '../autoreply/helpers.js';

const WEAK = ['aaaaaaaa', '        ', 'abcdefgh', '87654321', 'password123', 'qwertyuiop', 'iloveyou2'];

describe.each(testDialects())('weak passwords refused by the accounts API (%s)', (dialect) => {
  let env: AccountsTestEnv;
  beforeAll(async () => {
    env = await startAccountsEnv(dialect);
  });
  afterAll(async () => env?.close());

  it('at registration, with 10108 and the reason', async () => {
    for (const [i, p] of WEAK.entries()) {
      const r = await env.call('POST', '/v1/users', {
        body: { username: `weak${i}`, email: `weak${i}@example.org`, password1: p, password2: p },
        ip: `10.60.0.${i}`,
      });
      expect(r, JSON.stringify(p)).toMatchObject({ code: 10108, reason: 'too_weak', error: expect.stringMatching(/too easy to guess/) });
    }
  });

  it('at a password change and at a reset', async () => {
    const m = await env.member('strongowner');
    for (const p of WEAK) {
      const r = await env.call('POST', '/v1/users/strongowner/password', {
        token: m.token,
        body: { oldpassword: m.password, password1: p, password2: p },
      });
      expect(r, JSON.stringify(p)).toMatchObject({ code: 10108, reason: 'too_weak' });
    }
    await env.call('POST', '/v1/users/password/sms', { body: { email: m.email } });
    const code = /\b(\d{6})\b/.exec((await env.mail(m.email)).text)![1];
    const { ticket } = await env.call('POST', '/v1/users/password/verification', { body: { email: m.email, code } });
    for (const p of WEAK) {
      const r = await env.call('POST', '/v1/users/password/new', { body: { email: m.email, ticket, password1: p, password2: p } });
      expect(r, JSON.stringify(p)).toMatchObject({ code: 10108, reason: 'too_weak' });
    }
    // The ticket was not burnt by the refusals: a strong password goes through.
    expect(
      (
        await env.call('POST', '/v1/users/password/new', {
          body: { email: m.email, ticket, password1: 'Velvet-Harbor-Kettle-93', password2: 'Velvet-Harbor-Kettle-93' },
        })
      ).code,
    ).toBe(200);
  });
});

describe.each(testDialects())('weak passwords refused by the assistant (%s)', (dialect) => {
  let ctx: Ctx;
  beforeAll(async () => {
    ctx = await startAutoreply(dialect);
  });
  afterAll(async () => ctx?.close());

  it('at registration, with -4 and the reason', async () => {
    const code = await codeFor(ctx, 'o_weakling');
    for (const p of WEAK) {
      const r = (
        await ctx.t.app.inject({
          method: 'POST',
          url: '/account/register',
          headers: ctx.origin,
          payload: { username: 'weakling', password: p, last_name: code },
        })
      ).json();
      expect(r, JSON.stringify(p)).toMatchObject({ code: -4, message: expect.stringMatching(/too easy to guess/) });
    }
  });
});
