/**
 * CORS per route group, as a browser sees it (preflights and the headers on real answers):
 * token-authenticated APIs (certificates' /api/..., the claim routes, the mini-program's
 * /service/user/..., accounts' /v1/...) answer any origin unless CORS_ORIGINS narrows them;
 * cookie-session routes (the assistant) answer only the origins listed in CORS_ORIGINS, with
 * credentials; everything else (pages, /docs, /healthz, WeChat's callbacks) answers no one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

const SITE = 'http://community.example';
const APP = 'http://127.0.0.1:8081';

/** A browser's preflight for `method` with a JSON body (content-type is not CORS-safelisted for JSON). */
function preflight(t: TestApp, url: string, origin: string, method = 'POST', headers = 'content-type') {
  return t.app.inject({
    method: 'OPTIONS',
    url,
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });
}

const TOKEN_ROUTES: [string, string, string?][] = [
  ['/api/getUserInfo?token=abc', 'GET'],
  ['/api/submitUserInfo', 'POST'],
  ['/api/submitUserinfo', 'POST'],
  ['/api/addUserData', 'POST'],
  ['/api/uploadImage', 'POST', 'token'],
  ['/api/updateOrgConfig', 'POST'],
  ['/api/email', 'POST'],
  ['/api/v2/certificates/claim', 'POST'],
  ['/service/user/login', 'POST'],
  ['/service/user/getHistory', 'POST', 'content-type, authorization'],
  ['/v1/tokens', 'POST'],
  ['/v1/users/alice/address/3', 'PUT', 'content-type, authorization'],
  ['/v1/users/alice/address/3', 'DELETE', 'authorization'],
];
const SESSION_ROUTES: [string, string][] = [
  ['/account/login', 'POST'],
  ['/account/logout', 'GET'],
  ['/mongodb/add?id=1', 'POST'],
  ['/mongodb/delete?id=1&key=01', 'DELETE'],
  ['/database/show', 'GET'],
  ['/database/update/?id=01', 'POST'],
  ['/wechat/testlogin', 'GET'],
  ['/wechat/autoreply', 'POST'],
  ['/api/v2/autoreply/rules', 'POST'],
  ['/api/v2/autoreply/rules/1', 'PUT'],
];

describe('CORS without CORS_ORIGINS: token APIs open to any origin, the assistant to none', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ startJobs: false });
  });
  afterAll(async () => t?.close());

  it('answers the preflight of every token-authenticated API for any origin', async () => {
    for (const [url, method, headers] of TOKEN_ROUTES) {
      const r = await preflight(t, url, SITE, method, headers ?? 'content-type');
      expect(r.statusCode, `${method} ${url}`).toBe(204);
      expect(r.headers['access-control-allow-origin'], url).toBe('*');
      expect(String(r.headers['access-control-allow-methods']), url).toContain(method);
      expect(String(r.headers['access-control-allow-headers']).toLowerCase(), url).toContain(
        (headers ?? 'content-type').split(',')[0].trim(),
      );
      expect(r.headers['access-control-allow-credentials'], url).toBeUndefined();
      expect(Number(r.headers['access-control-max-age']), url).toBeGreaterThan(0);
    }
  });

  it('puts Access-Control-Allow-Origin on the real answers of token APIs, errors included', async () => {
    const info = await t.app.inject({ method: 'GET', url: '/api/getUserInfo?token=no-such-token', headers: { origin: SITE } });
    expect(info.json().code).toBe(2);
    expect(info.headers['access-control-allow-origin']).toBe('*');
    const submit = await t.app.inject({
      method: 'POST',
      url: '/api/submitUserInfo',
      headers: { origin: SITE },
      payload: { token: 'x'.repeat(20), name: 'A' },
    });
    expect(submit.headers['access-control-allow-origin']).toBe('*');
    const mp = await t.app.inject({ method: 'POST', url: '/service/user/get', headers: { origin: SITE }, payload: {} });
    expect(mp.json().code).toBe(-1);
    expect(mp.headers['access-control-allow-origin']).toBe('*');
    // Retry-After (rate limits) is readable by the calling page.
    expect(String(info.headers['access-control-expose-headers']).toLowerCase()).toContain('retry-after');
  });

  it('marks token answers as varying on Origin, with or without one, and checks preflights strictly', async () => {
    const plain = await t.app.inject({ method: 'GET', url: '/api/getUserInfo?token=no-such-token' });
    expect(plain.headers['access-control-allow-origin']).toBeUndefined();
    expect(String(plain.headers.vary)).toMatch(/\bOrigin\b/);
    const pre = await preflight(t, '/service/user/get', SITE, 'POST', 'content-type, authorization');
    expect(String(pre.headers.vary)).toMatch(/\bOrigin\b/);
    expect(String(pre.headers.vary)).toMatch(/Access-Control-Request-Headers/i);
    expect(pre.headers['access-control-allow-headers']).toBe('content-type, authorization');
    expect(pre.headers['content-length']).toBe('0');
    // An OPTIONS without Access-Control-Request-Method is no preflight; one without Origin neither.
    const noMethod = await t.app.inject({ method: 'OPTIONS', url: '/api/submitUserInfo', headers: { origin: SITE } });
    expect(noMethod.statusCode).toBe(400);
    const noOrigin = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/submitUserInfo',
      headers: { 'access-control-request-method': 'POST' },
    });
    expect(noOrigin.statusCode).toBe(404);
    // Pages and callbacks do not depend on Origin.
    const page = await t.app.inject({ method: 'GET', url: '/healthz', headers: { origin: SITE } });
    expect(String(page.headers.vary ?? '')).not.toMatch(/\bOrigin\b/);
  });

  it('refuses preflights to the cookie-session routes from any other origin, with a reason', async () => {
    for (const [url, method] of SESSION_ROUTES) {
      const r = await preflight(t, url, SITE, method);
      expect(r.statusCode, `${method} ${url}`).toBe(403);
      expect(r.headers['access-control-allow-origin'], url).toBeUndefined();
      expect(r.body, url).toMatch(/CORS_ORIGINS/);
    }
    const show = await t.app.inject({ method: 'GET', url: '/database/show', headers: { origin: SITE } });
    expect(show.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('gives no CORS to pages, docs, health, dev mailbox and WeChat callbacks', async () => {
    for (const url of ['/healthz', '/docs/json', '/assistant/', '/certificate', '/wechat/callback', '/dev/mail']) {
      const get = await t.app.inject({ method: 'GET', url, headers: { origin: SITE } });
      expect(get.headers['access-control-allow-origin'], url).toBeUndefined();
      const pre = await preflight(t, url, SITE);
      expect(pre.headers['access-control-allow-origin'], url).toBeUndefined();
      expect(pre.statusCode, url).toBeGreaterThanOrEqual(400);
    }
  });
});

describe('CORS with CORS_ORIGINS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ startJobs: false, env: { CORS_ORIGINS: `${APP}, https://volunteers.example.org` } });
  });
  afterAll(async () => t?.close());

  it('lets a listed origin call the cookie-session routes with credentials', async () => {
    for (const [url, method] of SESSION_ROUTES) {
      const r = await preflight(t, url, APP, method);
      expect(r.statusCode, `${method} ${url}`).toBe(204);
      expect(r.headers['access-control-allow-origin'], url).toBe(APP);
      expect(r.headers['access-control-allow-credentials'], url).toBe('true');
      expect(String(r.headers.vary), url).toMatch(/Origin/i);
    }
    const show = await t.app.inject({ method: 'GET', url: '/database/show', headers: { origin: 'https://volunteers.example.org' } });
    expect(show.headers['access-control-allow-origin']).toBe('https://volunteers.example.org');
    expect(show.headers['access-control-allow-credentials']).toBe('true');
  });

  it('narrows the token APIs to the listed origins too', async () => {
    for (const [url, method, headers] of TOKEN_ROUTES) {
      const ok = await preflight(t, url, APP, method, headers ?? 'content-type');
      expect(ok.statusCode, url).toBe(204);
      expect(ok.headers['access-control-allow-origin'], url).toBe(APP);
      expect(ok.headers['access-control-allow-credentials'], url).toBeUndefined();
      const refused = await preflight(t, url, SITE, method, headers ?? 'content-type');
      expect(refused.statusCode, url).toBe(403);
      expect(refused.headers['access-control-allow-origin'], url).toBeUndefined();
    }
  });

  it('refuses an origin that is not listed, however close it looks', async () => {
    for (const origin of [SITE, 'http://127.0.0.1:8082', 'https://127.0.0.1:8081', 'http://volunteers.example.org', 'null']) {
      const r = await preflight(t, '/account/login', origin);
      expect(r.statusCode, origin).toBe(403);
      expect(r.headers['access-control-allow-origin'], origin).toBeUndefined();
    }
  });
});

describe('CORS_ORIGINS with "*": token APIs stay open, the assistant only to the listed origins', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ startJobs: false, env: { CORS_ORIGINS: `*,${APP}` } });
  });
  afterAll(async () => t?.close());

  it('answers any origin on token APIs and only the listed one on session routes', async () => {
    expect((await preflight(t, '/api/submitUserInfo', SITE)).headers['access-control-allow-origin']).toBe('*');
    expect((await preflight(t, '/service/user/login', SITE)).headers['access-control-allow-origin']).toBe('*');
    expect((await preflight(t, '/account/login', SITE)).statusCode).toBe(403);
    expect((await preflight(t, '/account/login', APP)).headers['access-control-allow-origin']).toBe(APP);
  });
});

describe('CORS_ORIGINS values', () => {
  it('takes origins and "*", and stops with the variable named on anything else', () => {
    expect(parseConfig({ CORS_ORIGINS: ' http://a.example:8080 ,https://b.example ' }).corsOrigins).toEqual([
      'http://a.example:8080',
      'https://b.example',
    ]);
    expect(parseConfig({ CORS_ORIGINS: '*' }).corsOrigins).toEqual(['*']);
    // Pasted with a trailing slash or in capitals: the origin a browser sends.
    expect(parseConfig({ CORS_ORIGINS: 'HTTPS://Volunteers.Example.org/' }).corsOrigins).toEqual(['https://volunteers.example.org']);
    expect(parseConfig({}).corsOrigins).toEqual([]);
    for (const bad of [
      'http://a.example/path',
      'ftp://a.example',
      'a.example',
      'http://a.example:8080/x?y',
      'https://*.example.org',
      'http://user@a.example',
    ]) {
      expect(() => parseConfig({ CORS_ORIGINS: bad }), bad).toThrow(/CORS_ORIGINS/);
    }
  });
});
