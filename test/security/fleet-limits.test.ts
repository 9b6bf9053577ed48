/**
 * Issue 11 item 7 (the limits part): two instances on one PostgreSQL database share every attempt
 * limit, because the counts live in the database, not in each process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startFakeWechat, type FakeWechat } from '../helpers/fake-wechat.js';
import { createAccountsService } from '../../src/modules/accounts/index.js';

const SECRET_KEY = 'fleet-test-secret-key-0123456789abcdef';

describe.runIf(testDialects().includes('postgres'))('two instances on one PostgreSQL database', () => {
  let a: TestApp;
  let b: TestApp;
  let fake: FakeWechat;
  beforeAll(async () => {
    fake = await startFakeWechat();
    fake.on('/sns/jscode2session', () => ({ openid: 'o_fleet', session_key: 'sk-fleet' }));
    const env = {
      SECRET_KEY,
      WECHAT_API_BASE: fake.url,
      WECHAT_MINIPROGRAM_APPID: 'wx0123456789abcdef',
      WECHAT_MINIPROGRAM_SECRET: 'fleet-mp-secret',
      WECHAT_API_TIMEOUT_MS: '20000',
    };
    a = await startTestApp({ dialect: 'postgres', env });
    b = await startTestApp({ dialect: 'postgres', env, database: a.config.database });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await fake?.close();
  });

  const login = (t: TestApp, username: string, password: string, ip: string) =>
    t.app.inject({ method: 'POST', url: '/v1/tokens', payload: { username, password }, remoteAddress: ip }).then((r) => r.json());

  it('share the login limit: 200 parallel wrong passwords on each check at most 10 in all', async () => {
    const svc = createAccountsService({ db: a.core.db, dialect: 'postgres', now: Date.now });
    await svc.createUser({
      username: 'fleetvictim',
      email: 'fleetvictim@example.org',
      password: 'Tarnished-Ocelot-Quarry-42',
      isActive: true,
    });
    const answers = await Promise.all(
      Array.from({ length: 400 }, (_, i) => login(i % 2 ? a : b, 'fleetvictim', `wrong guess ${i}`, '10.30.0.1')),
    );
    expect(answers.filter((x) => x.code === 10108).length).toBeLessThanOrEqual(10);
  });

  it('share the admin-token limit: 10 wrong on one instance, the 11th on the other is refused', async () => {
    const get = (t: TestApp, token: string) =>
      t.app.inject({
        method: 'GET',
        url: '/api/v2/certificates/session',
        headers: { authorization: `Bearer ${token}` },
        remoteAddress: '10.31.0.1',
      });
    for (let i = 0; i < 10; i++) expect((await get(a, `wrong-${i}`)).statusCode).toBe(401);
    expect((await get(b, 'wrong-again')).statusCode).toBe(429);
  });

  it('share the getOpenid limit per client: of 800 calls over both, at most 300 get past it', async () => {
    const answers = await Promise.all(
      Array.from({ length: 800 }, (_, i) =>
        (i % 2 ? a : b).app.inject({
          method: 'POST',
          url: '/service/user/getOpenid',
          payload: { js_code: `code${i}` },
          remoteAddress: '10.32.0.1',
        }),
      ),
    );
    // Every call past the limit is refused before WeChat is asked; the others went to WeChat.
    const passed = answers.filter((r) => !/too many getOpenid calls/.test(r.json().msg));
    expect(passed.length).toBeLessThanOrEqual(300);
    expect(passed.length).toBeGreaterThan(0);
  });
});
