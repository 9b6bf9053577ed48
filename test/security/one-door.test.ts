/**
 * Issue 10 item 3: one identity, one door. A member of the accounts module signs in to the
 * assistant only once activated, and wrong passwords at either door count against one lockout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { startAutoreply, type Ctx } from '../autoreply/helpers.js';

describe.each(testDialects())('one identity, one door (%s)', (dialect) => {
  let ctx: Ctx;
  beforeAll(async () => {
    ctx = await startAutoreply(dialect, { mp: false });
  });
  afterAll(async () => ctx?.close());

  const inject = (method: 'GET' | 'POST', url: string, payload: object | undefined, ip: string) =>
    ctx.t.app.inject({ method, url, headers: ctx.origin, payload, remoteAddress: ip }).then((r) => r.json());

  it('refuses an unactivated registration at the assistant login', async () => {
    const reg = await inject(
      'POST',
      '/v1/users',
      { username: 'notyet', email: 'notyet@example.org', password1: 'Tarnished-Ocelot-Quarry-42', password2: 'Tarnished-Ocelot-Quarry-42' },
      '10.40.0.1',
    );
    expect(reg.code).toBe(200);
    const r = await inject('POST', '/account/login', { username: 'notyet', password: 'Tarnished-Ocelot-Quarry-42' }, '10.40.0.1');
    expect(r.code).not.toBe(200);
    expect(r.message).toMatch(/not activated/);
  });

  it('counts wrong passwords at /v1/tokens against /account/login and back (one lockout)', async () => {
    const reg = await inject(
      'POST',
      '/v1/users',
      {
        username: 'onedoor',
        email: 'onedoor@example.org',
        password1: 'Tarnished-Ocelot-Quarry-42',
        password2: 'Tarnished-Ocelot-Quarry-42',
      },
      '10.41.0.9',
    );
    expect(reg.code).toBe(200);
    // Activate through the dev mailbox's stored link (the real mail).
    const admin = { authorization: 'Bearer test-admin-token' };
    const findMail = async () =>
      (await ctx.t.app.inject({ method: 'GET', url: '/api/v2/dev/mail', headers: admin }))
        .json()
        .items.find((m: { to: string }) => m.to.includes('onedoor@'))?.id;
    await expect.poll(findMail, { timeout: 10_000, interval: 20 }).toBeDefined();
    const id = await findMail();
    const text = (await ctx.t.app.inject({ method: 'GET', url: `/api/v2/dev/mail/${id}`, headers: admin })).json().text as string;
    const code = /code=([A-Za-z0-9_-]{43})/.exec(text)![1];
    expect((await inject('GET', `/v1/users/activation?code=${code}`, undefined, '10.41.0.9')).code).toBe(200);

    for (let i = 0; i < 6; i++)
      expect((await inject('POST', '/v1/tokens', { username: 'onedoor', password: `wrong ${i} guess` }, '10.41.0.1')).code).toBe(10108);
    for (let i = 0; i < 4; i++)
      expect((await inject('POST', '/account/login', { username: 'onedoor', password: `wrong ${i} guess` }, '10.41.0.1')).code).toBe(-3);
    // Ten in all from this client: both doors now refuse it, the right password included.
    expect(
      (await inject('POST', '/account/login', { username: 'onedoor', password: 'Tarnished-Ocelot-Quarry-42' }, '10.41.0.1')).code,
    ).not.toBe(200);
    expect((await inject('POST', '/v1/tokens', { username: 'onedoor', password: 'Tarnished-Ocelot-Quarry-42' }, '10.41.0.1')).code).toBe(
      10131,
    );
    // The owner elsewhere still gets in at both doors.
    expect(
      (await inject('POST', '/account/login', { username: 'onedoor', password: 'Tarnished-Ocelot-Quarry-42' }, '10.41.0.2')).code,
    ).toBe(200);
    expect((await inject('POST', '/v1/tokens', { username: 'onedoor', password: 'Tarnished-Ocelot-Quarry-42' }, '10.41.0.3')).code).toBe(
      200,
    );
  });
});
