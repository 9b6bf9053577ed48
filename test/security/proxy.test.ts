/**
 * Issue 10 item 5: client addresses behind a real reverse proxy. Debian's nginx on loopback, with
 * its own temporary config, prefix and pid file, started and stopped here, forwards to the app
 * with `X-Forwarded-For $proxy_add_x_forwarded_for` (it appends what the client sent). Clients
 * come from different loopback addresses (127.0.0.2, .3): per-client limits must see them apart,
 * and a client that makes up its own X-Forwarded-For must not escape its limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { get, startNginx, type Proxy } from '../helpers/nginx.js';

describe.each(['127.0.0.1', '1'])('behind nginx with TRUST_PROXY=%s', (trust) => {
  let t: TestApp;
  let proxy: Proxy;
  beforeAll(async () => {
    t = await startTestApp({ dialect: testDialects()[0] ?? 'sqlite', env: { TRUST_PROXY: trust } });
    proxy = await startNginx(await t.listen());
  });
  afterAll(async () => {
    await proxy?.stop();
    await t?.close();
  });

  it('limits each client on its own, and a made-up X-Forwarded-For does not escape it', async () => {
    const admin = (token: string, from: string, spoof?: string) =>
      get(proxy.url, '/api/v2/certificates/session', from, {
        authorization: `Bearer ${token}`,
        ...(spoof ? { 'x-forwarded-for': spoof } : {}),
      });
    // The attacker at 127.0.0.2 claims to be someone new on every try.
    for (let i = 0; i < 10; i++) expect(await admin(`wrong-${i}`, '127.0.0.2', `198.51.100.${i + 1}`)).toBe(401);
    expect(await admin('wrong-again', '127.0.0.2', '203.0.113.77')).toBe(429);
    expect(await admin('wrong-again', '127.0.0.2')).toBe(429);
    // The organizer at 127.0.0.3 is another client: not locked out.
    expect(await admin('test-admin-token', '127.0.0.3')).toBe(200);
  });
});
