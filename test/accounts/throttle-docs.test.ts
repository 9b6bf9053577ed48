/**
 * Login throttling (failures per account and client, and per client; 10131 with retry_after; the
 * right password does not get through from a throttled client, but does from another; a success
 * resets that client's count) and the OpenAPI page listing every accounts route with its request
 * schema. The attacks themselves (parallel, many clients, several instances): test/security/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { startAccountsEnv, type AccountsTestEnv } from './helpers.js';

describe.each(testDialects())('accounts: login throttling and OpenAPI on %s', (dialect) => {
  let env: AccountsTestEnv;
  beforeAll(async () => {
    env = await startAccountsEnv(dialect);
  });
  afterAll(async () => env?.close());

  const login = (username: string, password: string, ip: string) => env.call('POST', '/v1/tokens', { body: { username, password }, ip });

  it('throttles failed logins per account and client, even for the right password, and not the owner elsewhere', async () => {
    const m = await env.member('hank');
    // 9 failures, then a success from the same client: that client's count starts again.
    for (let i = 0; i < 9; i++) expect((await login('hank', 'wrong guess here', '10.1.0.1')).code).toBe(10108);
    expect((await login('hank', m.password, '10.1.0.1')).code).toBe(200);
    for (let i = 0; i < 10; i++) expect((await login('hank', 'wrong guess here', '10.2.0.1')).code).toBe(10108);
    const blocked = await login('hank', m.password, '10.2.0.1');
    expect(blocked).toMatchObject({ code: 10131, retry_after: expect.any(Number) });
    expect(blocked.retry_after).toBeGreaterThan(0);
    // The email is the same account: no second budget of guesses under the other name.
    const byEmail = await env.call('POST', '/v1/tokens', { body: { email: m.email.toUpperCase(), password: m.password }, ip: '10.2.0.1' });
    expect(byEmail.code).toBe(10131);
    // The owner on another client is not locked out.
    expect((await login('hank', m.password, '10.3.0.1')).code).toBe(200);
    // Another account is not affected.
    const other = await env.member('iris');
    expect((await login('iris', other.password, '10.2.0.1')).code).toBe(200);
    // Probing while throttled is not free: each throttled answer costs the caller's address.
    const prober = '10.3.9.9';
    for (let i = 0; i < 10; i++) expect((await login('nobody1', 'any guess at all', prober)).code).toBe(10108);
    for (let i = 0; i < 40; i++) expect((await login('nobody1', 'any guess at all', prober)).code).toBe(10131);
    expect((await login('iris', other.password, prober)).code).toBe(10131);
    // Wrong old passwords on "change password" count against the account on that client too.
    const body = { oldpassword: 'nope nope nope', password1: 'Velvet-Harbor-Kettle-93', password2: 'Velvet-Harbor-Kettle-93' };
    for (let i = 0; i < 10; i++)
      expect((await env.call('POST', '/v1/users/iris/password', { token: other.token, body, ip: '10.4.1.1' })).code).toBe(10103);
    expect(
      (
        await env.call('POST', '/v1/users/iris/password', {
          token: other.token,
          body: { ...body, oldpassword: other.password },
          ip: '10.4.1.1',
        })
      ).code,
    ).toBe(10131);
    expect((await login('iris', other.password, '10.4.1.1')).code).toBe(10131);
    expect((await login('iris', other.password, '10.4.1.2')).code).toBe(200);
  });

  it('throttles failed logins per IP across accounts (unknown names count too)', async () => {
    const m = await env.member('jade');
    const ip = '10.4.0.1';
    for (let i = 0; i < 50; i++) expect((await login(`ghost${i}`, 'wrong guess here', ip)).code).toBe(10108);
    expect((await login('jade', m.password, ip)).code).toBe(10131);
    // The same account from another address still works.
    expect((await login('jade', m.password, '10.4.0.2')).code).toBe(200);
  });

  it('lists every accounts route in the OpenAPI page, with its request schema', async () => {
    const doc = (await env.t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const routes: Array<[string, string, string?]> = [
      ['post', '/v1/users', 'requestBody'],
      ['post', '/v1/users/activation/resend', 'requestBody'],
      ['get', '/v1/users/activation', 'parameters'],
      ['post', '/v1/tokens', 'requestBody'],
      ['delete', '/v1/tokens'],
      ['post', '/v1/users/{username}/password', 'requestBody'],
      ['post', '/v1/users/password/sms', 'requestBody'],
      ['post', '/v1/users/password/verification/', 'requestBody'],
      ['post', '/v1/users/password/new', 'requestBody'],
      ['get', '/v1/users/{username}/address', 'parameters'],
      ['post', '/v1/users/{username}/address', 'requestBody'],
      ['put', '/v1/users/{username}/address/{id}', 'requestBody'],
      ['delete', '/v1/users/{username}/address/{id}', 'parameters'],
      ['delete', '/v1/users/{username}address/{id}', 'parameters'],
      ['post', '/v1/users/address/{username}/default', 'requestBody'],
    ];
    for (const [method, path, part] of routes) {
      const op = doc.paths?.[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op.summary, `${method} ${path}`).toBeTruthy();
      expect(op.responses?.['200'], `${method} ${path}`).toBeDefined();
      if (part) expect(op[part], `${method} ${path} ${part}`).toBeDefined();
    }
    // The seed's spellings are documented, not only accepted.
    const change = JSON.stringify(doc.paths['/v1/users/{username}/password'].post.requestBody);
    expect(change).toContain('oldpasword');
    expect(JSON.stringify(doc.paths['/v1/users/{username}/address'].post.requestBody)).toContain('receiver_mobile');
  });
});
