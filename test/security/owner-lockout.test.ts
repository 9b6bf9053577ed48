/**
 * Issue 10 item 4: lockouts an attacker can aim at the owner. Failures are throttled per
 * (identity, client), with a slower backoff per identity: the attacker's client is stopped, the
 * owner on another client still gets in, and many clients together get no more guesses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminAuth } from '../../src/modules/certificates/admin-token.js';
import { testDialects } from '../helpers/db.js';
import { startAccountsEnv, type AccountsTestEnv } from '../accounts/helpers.js';

describe.each(testDialects())('lockouts aimed at the owner (%s)', (dialect) => {
  let env: AccountsTestEnv;
  const clock = { t: Date.UTC(2026, 5, 1) };
  beforeAll(async () => {
    env = await startAccountsEnv(dialect, { now: () => clock.t });
  });
  afterAll(async () => env?.close());

  const login = (username: string, password: string, ip: string) => env.call('POST', '/v1/tokens', { body: { username, password }, ip });

  it('400 wrong passwords from one address do not keep the owner out from another', async () => {
    const m = await env.member('owner1');
    await Promise.all(Array.from({ length: 400 }, (_, i) => login('owner1', `wrong guess ${i}`, '10.50.0.1')));
    // The attacker's client gets no more guesses, not even with the right password...
    expect((await login('owner1', m.password, '10.50.0.1')).code).toBe(10131);
    // ...and the owner on another client signs in at once.
    expect((await login('owner1', m.password, '10.50.0.2')).code).toBe(200);
  });

  it('counts one IPv6 /64 as one client: rotating addresses inside it gets no more guesses', async () => {
    const m = await env.member('owner3');
    const answers = [];
    for (let i = 1; i <= 30; i++) answers.push((await login('owner3', `wrong guess ${i}`, `2001:db8:77:1::${i.toString(16)}`)).code);
    expect(answers.filter((c) => c === 10108)).toHaveLength(10);
    // Another /64 is another client: the owner there gets in.
    expect((await login('owner3', m.password, '2001:db8:77:2::1')).code).toBe(200);
  });

  it('many clients together get a slowing budget, and the owner still gets in after a short wait', async () => {
    const m = await env.member('owner2');
    // 40 clients, 5 guesses each, all at once.
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => login('owner2', `wrong guess ${i}`, `10.51.${i % 40}.1`)));
    const checked = answers.filter((a) => a.code === 10108).length;
    expect(checked).toBeLessThanOrEqual(21);
    const owner = await login('owner2', m.password, '10.51.200.1');
    if (owner.code !== 200) {
      expect(owner).toMatchObject({ code: 10131 });
      expect(owner.retry_after).toBeLessThanOrEqual(2);
      clock.t += owner.retry_after * 1000;
      expect((await login('owner2', m.password, '10.51.200.1')).code).toBe(200);
    }
  });

  /** The console's session check with an admin token, from `ip`. */
  const get = (token: string, ip: string) =>
    env.t.app.inject({
      method: 'GET',
      url: '/api/v2/certificates/session',
      headers: { authorization: `Bearer ${token}` },
      remoteAddress: ip,
    });

  it('10 wrong admin tokens from one address do not keep the organizer out from another; many addresses get a slowing budget', async () => {
    for (let i = 0; i < 10; i++) expect((await get(`wrong-${i}`, '10.52.0.1')).statusCode).toBe(401);
    expect((await get('test-admin-token', '10.52.0.1')).statusCode).toBe(429);
    expect((await get('test-admin-token', '10.52.0.2')).statusCode).toBe(200);
    // Many clients together: a slowing budget for the one admin identity, not 10 guesses each.
    const spread = await Promise.all(Array.from({ length: 60 }, (_, i) => get(`wrong-spread-${i}`, `10.53.${i}.1`)));
    expect(spread.filter((r) => r.statusCode === 401).length).toBeLessThanOrEqual(21);
    const organizer = await get('test-admin-token', '10.53.200.1');
    if (organizer.statusCode !== 200) {
      expect(organizer.statusCode).toBe(429);
      const wait = Number(organizer.headers['retry-after']);
      expect(wait).toBeLessThanOrEqual(2);
      clock.t += wait * 1000;
      expect((await get('test-admin-token', '10.53.200.1')).statusCode).toBe(200);
    }
  });

  let address = 0;
  /** 14 bursts of 30 wrong tokens from fresh addresses in `net`, each when the wait ends, then one more from `lastNet`. */
  const holdAtLongest = async (net: string, lastNet: string) => {
    for (let round = 0; round < 14; round++) {
      const burst = await Promise.all(
        Array.from({ length: 30 }, () => get(`wrong-${address}`, `${net}.${address++ % 250}.${1 + (address % 200)}`)),
      );
      const waits = burst.filter((r) => r.statusCode === 429).map((r) => Number(r.headers['retry-after']));
      clock.t += (waits.length ? Math.max(...waits) : 0) * 1000;
    }
    await Promise.all(Array.from({ length: 30 }, () => get(`wrong-${address}`, `${lastNet}.${address++ % 250}.1`)));
  };

  it('an attack from many addresses that keeps the admin backoff at its longest does not keep the organizer out on a client that signed in before', async () => {
    // The organizer's laptop signed in yesterday.
    expect((await get('test-admin-token', '10.54.0.7')).statusCode).toBe(200);
    clock.t += 24 * 3600_000 - 60_000;
    // An attacker spreads guesses over many addresses and, each time the wait ends, guesses again
    // from a fresh address: the identity's wait doubles until it stays at 15 minutes.
    await holdAtLongest('10.55', '10.56');
    // A client never seen waits: the identity is at its longest backoff (minutes, not seconds).
    const stranger = await get('test-admin-token', '10.57.0.1');
    expect(stranger.statusCode).toBe(429);
    expect(Number(stranger.headers['retry-after'])).toBeGreaterThan(60);
    // The organizer's laptop, which signed in before the attack, gets in at once...
    expect((await get('test-admin-token', '10.54.0.7')).statusCode).toBe(200);
    // ...but is no way around its own limit: wrong tokens from it are still stopped after 10.
    const fromLaptop = [];
    for (let i = 0; i < 11; i++) fromLaptop.push((await get(`laptop-wrong-${i}`, '10.54.0.7')).statusCode);
    expect(fromLaptop.filter((c) => c === 401)).toHaveLength(10);
    expect(fromLaptop.at(-1)).toBe(429);
    // A client known from more than 30 days ago is a stranger again.
    clock.t += 31 * 24 * 3600_000;
    await Promise.all(Array.from({ length: 40 }, () => get(`wrong-${address}`, `10.58.${address++ % 250}.1`)));
    await holdAtLongest('10.59', '10.60');
    expect((await get('test-admin-token', '10.54.0.7')).statusCode).toBe(429);
  });

  it('knows a client that signed in through another instance, also where this one had read an older time', async () => {
    // Two instances of the service (each its own checker and cache) on one database.
    const a = createAdminAuth(env.t.core.db, 'test-admin-token', () => clock.t);
    const b = createAdminAuth(env.t.core.db, 'test-admin-token', () => clock.t);
    clock.t += 2 * 24 * 3600_000; // the last test's attack forgotten
    expect(await a.check('test-admin-token', '10.61.0.7')).toEqual({ ok: true });
    clock.t += 31 * 24 * 3600_000;
    // Weeks later the laptop signs in through the other instance: known again from now on.
    expect(await b.check('test-admin-token', '10.61.0.7')).toEqual({ ok: true });
    await holdAtLongest('10.62', '10.63');
    expect(await a.check('test-admin-token', '10.64.0.1')).toMatchObject({ ok: false, reason: 'rate_limited' });
    expect(await a.check('test-admin-token', '10.61.0.7')).toEqual({ ok: true });
  });
});
