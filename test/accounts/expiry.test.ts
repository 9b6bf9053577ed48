/**
 * Lifetimes, on a controlled clock: activation links 24 hours, recovery codes 10 minutes, reset
 * tickets 15 minutes, sessions 30 days. Past them: 10112 / 10106 / 10112 / 10101, nothing changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { startAccountsEnv, type AccountsTestEnv } from './helpers.js';

const MIN = 60_000;

describe.each(testDialects())('accounts: lifetimes on %s', (dialect) => {
  let env: AccountsTestEnv;
  let clock = Date.now();
  beforeAll(async () => {
    env = await startAccountsEnv(dialect, { now: () => clock });
  });
  afterAll(async () => env?.close());

  it('expires activation links after 24 hours', async () => {
    const pw = 'hanna long phrase';
    await env.call('POST', '/v1/users', { body: { username: 'hanna', email: 'hanna@example.org', password1: pw, password2: pw } });
    const code = (await env.mail('hanna@example.org')).text.match(/code=([A-Za-z0-9_-]+)/)![1];
    clock += 24 * 60 * MIN + 1;
    expect((await env.call('GET', `/v1/users/activation?code=${code}`)).code).toBe(10112);
    expect((await env.call('POST', '/v1/tokens', { body: { username: 'hanna', password: pw } })).code).toBe(10104);
    // A fresh link works.
    await env.call('POST', '/v1/users/activation/resend', { body: { username: 'hanna' } });
    const code2 = (await env.mail('hanna@example.org', 2)).text.match(/code=([A-Za-z0-9_-]+)/)![1];
    expect(await env.call('GET', `/v1/users/activation?code=${code2}`)).toEqual({ code: 200, data: '激活成功' });
    // The expired first link, once the account is active: "already active, log in", not "expired".
    expect(await env.call('GET', `/v1/users/activation?code=${code}`)).toMatchObject({ code: 200, already_active: true });
  });

  it('expires recovery codes after 10 minutes and tickets after 15', async () => {
    const m = await env.member('ivan');
    await env.call('POST', '/v1/users/password/sms', { body: { email: m.email } });
    const code = (await env.mail(m.email)).text.match(/\b(\d{6})\b/)![1];
    clock += 10 * MIN + 1;
    expect((await env.call('POST', '/v1/users/password/verification', { body: { email: m.email, code } })).code).toBe(10106);
    await env.call('POST', '/v1/users/password/sms', { body: { email: m.email } });
    const code2 = (await env.mail(m.email, 2)).text.match(/\b(\d{6})\b/)![1];
    const { ticket } = await env.call('POST', '/v1/users/password/verification', { body: { email: m.email, code: code2 } });
    clock += 15 * MIN + 1;
    const np = 'ivan new long phrase';
    expect(
      (await env.call('POST', '/v1/users/password/new', { body: { email: m.email, password1: np, password2: np, ticket } })).code,
    ).toBe(10112);
    expect((await env.call('POST', '/v1/tokens', { body: { username: 'ivan', password: m.password } })).code).toBe(200);
  });

  it('expires sessions after 30 days', async () => {
    const m = await env.member('jade');
    expect((await env.call('GET', '/v1/users/jade/address', { token: m.token })).code).toBe(200);
    clock += 30 * 24 * 60 * MIN + 1;
    expect((await env.call('GET', '/v1/users/jade/address', { token: m.token })).code).toBe(10101);
  });
});
