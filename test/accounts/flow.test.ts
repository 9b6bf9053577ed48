/**
 * The whole chain through HTTP, with mail over a real SMTP server on loopback:
 * register -> activation mail -> activate -> log in -> change password (other session revoked,
 * notice mail) -> forget -> code mail -> wrong code x5 (dead) -> new code -> ticket -> new
 * password -> old sessions revoked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { startAccountsEnv, type AccountsTestEnv } from './helpers.js';

describe.each(testDialects())('accounts: the whole chain on %s', (dialect) => {
  let env: AccountsTestEnv;
  beforeAll(async () => {
    env = await startAccountsEnv(dialect);
  });
  afterAll(async () => env?.close());

  it('registers, activates, logs in, changes and recovers the password', async () => {
    const email = 'carol@example.org';
    const pw1 = 'first secret phrase';
    const pw2 = 'second secret phrase';
    const pw3 = 'third secret phrase';

    // Register: inactive, with a session token, and an activation mail.
    const reg = await env.call('POST', '/v1/users', {
      body: { username: 'carol', email: 'Carol@Example.org', password1: pw1, password2: pw1 },
    });
    expect(reg).toMatchObject({ code: 200, username: 'carol', data: { token: expect.any(String) } });
    // Stored as argon2id with the parameters (19 MiB, 2 iterations, 1 lane), never in clear.
    const stored = await env.t.core.db
      .selectFrom('users')
      .select(['password_hash', 'is_active'])
      .where('username', '=', 'carol')
      .executeTakeFirstOrThrow();
    expect(stored.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(stored.password_hash).not.toContain(pw1);
    expect(stored.is_active).toBe(0);
    const act = await env.mail(email);
    expect(act.subject).toBe('激活您的账号');
    const link = act.text.match(/http:\/\/shop\.test\/accounts\/active\?code=([A-Za-z0-9_-]+)/);
    expect(link, act.text).not.toBeNull();
    const code = link![1];

    // Not active yet: login says so clearly; the registration token cannot use the address book.
    const early = await env.call('POST', '/v1/tokens', { body: { username: 'carol', password: pw1 } });
    expect(early).toMatchObject({ code: 10104, reason: 'not_activated' });
    expect((await env.call('GET', '/v1/users/carol/address', { token: reg.data.token })).code).toBe(10104);
    // It can ask for a new activation mail (same answer whether the account exists or not).
    const resend = await env.call('POST', '/v1/users/activation/resend', { body: { email } });
    const resendUnknown = await env.call('POST', '/v1/users/activation/resend', { body: { email: 'nobody@example.org' } });
    expect(resend).toEqual(resendUnknown);
    expect(resend.code).toBe(200);
    await env.mail(email, 2);

    // Activate (the first link still works: any live link activates), then the link is used up.
    expect(await env.call('GET', `/v1/users/activation?code=${code}`)).toEqual({ code: 200, data: '激活成功' });
    // The same link again (a second click, a mail app opening it twice): already active, log in.
    expect(await env.call('GET', `/v1/users/activation?code=${code}`)).toEqual({
      code: 200,
      data: '账号已激活，请直接登录',
      already_active: true,
    });
    expect((await env.call('GET', '/v1/users/activation?code=not-a-code')).code).toBe(10113);

    // Log in twice (two devices), by username and by email.
    const a = await env.call('POST', '/v1/tokens', { body: { username: 'carol', password: pw1 } });
    expect(a).toMatchObject({ code: 200, username: 'carol', data: { token: expect.any(String) } });
    const b = await env.call('POST', '/v1/tokens', { body: { email, password: pw1 } });
    expect(b.code).toBe(200);
    const tokenA = `Bearer ${a.data.token}`;
    const tokenB = b.data.token as string;
    expect((await env.call('GET', '/v1/users/carol/address', { token: tokenB })).code).toBe(200);

    // Change password from session A: errors first, nothing changes.
    const path = '/v1/users/carol/password';
    expect((await env.call('POST', path, { token: tokenA, body: { oldpassword: pw1, password1: pw2, password2: pw3 } })).code).toBe(10102);
    expect(
      (await env.call('POST', path, { token: tokenA, body: { oldpassword: 'not the password', password1: pw2, password2: pw2 } })).code,
    ).toBe(10103);
    expect((await env.call('POST', path, { token: tokenA, body: { oldpassword: pw1, password1: pw1, password2: pw1 } })).code).toBe(10133);
    expect(
      (await env.call('POST', path, { token: tokenA, body: { oldpassword: pw1, password1: 'password123', password2: 'password123' } }))
        .code,
    ).toBe(10108);
    expect((await env.call('GET', '/v1/users/carol/address', { token: tokenB })).code).toBe(200);
    // The seed's example spelling `oldpasword` works.
    expect(await env.call('POST', path, { token: tokenA, body: { oldpasword: pw1, password1: pw2, password2: pw2 } })).toEqual({
      code: 200,
      data: '修改成功',
    });
    expect((await env.call('GET', '/v1/users/carol/address', { token: tokenB })).code).toBe(10101);
    expect((await env.call('GET', '/v1/users/carol/address', { token: tokenA })).code).toBe(200);
    const changed = await env.mail(email, 3);
    expect(changed.subject).toBe('您的密码已修改');
    expect((await env.call('POST', '/v1/tokens', { body: { username: 'carol', password: pw1 } })).code).toBe(10108);
    expect((await env.call('POST', '/v1/tokens', { body: { username: 'carol', password: pw2 } })).code).toBe(200);

    // Forgot password: a code by mail (English this time).
    const en = { 'accept-language': 'en-US,en;q=0.9' };
    expect(await env.call('POST', '/v1/users/password/sms', { body: { email }, headers: en })).toEqual({ code: 200, data: '邮件发送成功' });
    const codeMail = await env.mail(email, 4);
    expect(codeMail.subject).toMatch(/^Your password recovery code: \d{6}$/);
    const code1 = codeMail.text.match(/\b(\d{6})\b/)![1];
    const wrong = code1 === '000000' ? '111111' : '000000';
    const verify = '/v1/users/password/verification/';
    for (let i = 1; i <= 4; i++) {
      expect(await env.call('POST', verify, { body: { email, code: wrong } })).toMatchObject({ code: 10132 });
    }
    expect((await env.call('POST', verify, { body: { email, code: wrong } })).code).toBe(10106);
    // Dead: even the right code no longer works.
    expect((await env.call('POST', verify, { body: { email, code: code1 } })).code).toBe(10106);

    // A new code; step 3 without a ticket or code changes nothing.
    expect((await env.call('POST', '/v1/users/password/sms', { body: { email } })).code).toBe(200);
    const code2 = (await env.mail(email, 5)).text.match(/\b(\d{6})\b/)![1];
    expect((await env.call('POST', '/v1/users/password/new', { body: { email, password1: pw3, password2: pw3 } })).code).toBe(10112);
    expect(
      (await env.call('POST', '/v1/users/password/new', { body: { email, password1: pw3, password2: pw3, ticket: 'x'.repeat(43) } })).code,
    ).toBe(10112);
    const ok = await env.call('POST', '/v1/users/password/verification', { body: { email, code: code2 } });
    expect(ok).toMatchObject({ code: 200, data: '验证码通过', email, ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    // The code is single use.
    expect((await env.call('POST', verify, { body: { email, code: code2 } })).code).toBe(10106);
    // A ticket does not work for another address.
    expect(
      (
        await env.call('POST', '/v1/users/password/new', {
          body: { email: 'dave@example.org', password1: pw3, password2: pw3, ticket: ok.ticket },
        })
      ).code,
    ).toBe(10112);
    expect(
      await env.call('POST', '/v1/users/password/new', { body: { email, password1: pw3, password2: pw3, ticket: ok.ticket } }),
    ).toEqual({ code: 200, data: 'OK' });
    // The ticket is single use.
    expect(
      (await env.call('POST', '/v1/users/password/new', { body: { email, password1: pw1, password2: pw1, ticket: ok.ticket } })).code,
    ).toBe(10112);

    // Every old session is revoked; a notice was mailed; only the new password logs in.
    expect((await env.call('GET', '/v1/users/carol/address', { token: tokenA })).code).toBe(10101);
    const reset = await env.mail(email, 6);
    expect(reset.subject).toBe('您的密码已重设');
    expect((await env.call('POST', '/v1/tokens', { body: { username: 'carol', password: pw2 } })).code).toBe(10108);
    const c = await env.call('POST', '/v1/tokens', { body: { username: 'carol', password: pw3 } });
    expect(c.code).toBe(200);

    // Log out revokes that session only.
    expect(await env.call('DELETE', '/v1/tokens', { token: c.data.token })).toEqual({ code: 200, data: '已退出登录' });
    expect((await env.call('GET', '/v1/users/carol/address', { token: c.data.token })).code).toBe(10101);

    // Secrets are stored hashed: no token, code or ticket appears in the database.
    const rows = await env.t.core.db.selectFrom('one_time_codes').select('code_hash').execute();
    const hashes = rows.map((r) => r.code_hash).join(' ');
    for (const secret of [code, code1, code2, ok.ticket]) expect(hashes).not.toContain(secret);
  });

  it('resets with the code itself instead of a ticket, and activates an unactivated account', async () => {
    const email = 'erin@example.org';
    const pw = 'erin first phrase';
    await env.call('POST', '/v1/users', { body: { username: 'erin', email, password1: pw, password2: pw } });
    await env.mail(email);
    expect((await env.call('POST', '/v1/users/password/sms', { body: { email } })).code).toBe(200);
    const code = (await env.mail(email, 2)).text.match(/\b(\d{6})\b/)![1];
    const np = 'erin second phrase';
    // A refused password does not burn the code.
    expect((await env.call('POST', '/v1/users/password/new', { body: { email, password1: 'erin', password2: 'erin', code } })).code).toBe(
      10108,
    );
    // Without a confirmation: 10109; the seed table's spelling `Password2` is taken.
    expect((await env.call('POST', '/v1/users/password/new', { body: { email, password1: np, code } })).code).toBe(10109);
    expect(await env.call('POST', '/v1/users/password/new', { body: { email, password1: np, Password2: np, code } })).toEqual({
      code: 200,
      data: 'OK',
    });
    expect((await env.call('POST', '/v1/tokens', { body: { username: 'erin', password: np } })).code).toBe(200);
  });
});
