/**
 * Issue 10 item 13: headers and ops. Every page answers a Content-Security-Policy made for it
 * (@fastify/helmet, scoped to the pages so the JSON API pays nothing), whose script and style
 * hashes cover every inline script and style the page really serves; /metrics is no longer
 * public: with METRICS_TOKEN it needs that bearer token, without it only a direct loopback
 * client (no proxy headers) gets it.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { get as getFrom, startNginx, type Proxy } from '../helpers/nginx.js';

const PAGES = [
  '/',
  '/certificate',
  '/admin',
  '/admin/campaigns',
  '/dev/mail',
  '/accounts',
  '/accounts/login',
  '/assistant',
  '/verify/nosuchcertificate',
  '/docs',
];

function inlineHashes(html: string, tag: 'script' | 'style'): string[] {
  const re = tag === 'script' ? /<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi : /<style[^>]*>([\s\S]*?)<\/style>/gi;
  return [...html.matchAll(re)].map((m) => `'sha256-${createHash('sha256').update(m[1], 'utf8').digest('base64')}'`);
}

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map((d) => [d[0], d.slice(1)]),
  );
}

describe('security headers on every page', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  for (const path of PAGES) {
    it(`${path} has a CSP covering its inline code`, async () => {
      const r = await t.app.inject({ method: 'GET', url: path, headers: { accept: 'text/html' } });
      expect(r.statusCode).toBeLessThan(500);
      expect(String(r.headers['content-type'])).toMatch(/text\/html/);
      const csp = String(r.headers['content-security-policy'] ?? '');
      expect(csp).not.toBe('');
      const d = directives(csp);
      expect(d.get('default-src')).toBeDefined();
      expect(d.get('object-src') ?? d.get('default-src')).toEqual(expect.arrayContaining([expect.stringMatching(/'none'|'self'/)]));
      expect(d.get('frame-ancestors')).toEqual(["'none'"]);
      expect(d.get('base-uri')).toBeDefined();
      expect(csp).not.toMatch(/'unsafe-eval'/);
      expect(d.get('script-src') ?? []).not.toContain("'unsafe-inline'");
      for (const h of inlineHashes(r.body, 'script')) expect(d.get('script-src')).toContain(h);
      const styleSrc = d.get('style-src') ?? [];
      if (!styleSrc.includes("'unsafe-inline'")) for (const h of inlineHashes(r.body, 'style')) expect(styleSrc).toContain(h);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['x-frame-options']).toBeDefined();
      expect(r.headers['referrer-policy']).toBeDefined();
    });
  }

  it('the claim page allows exactly its one inline script by hash', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/certificate' });
    const scripts = inlineHashes(r.body, 'script');
    const d = directives(String(r.headers['content-security-policy']));
    if (scripts.length) expect(d.get('script-src')).toEqual(expect.arrayContaining(scripts));
  });

  it('keeps helmet off the JSON API hot paths', async () => {
    for (const url of ['/healthz', '/api/getUserInfo?token=x']) {
      const r = await t.app.inject({ method: 'GET', url });
      expect(r.headers['content-security-policy']).toBeUndefined();
    }
  });
});

describe('/metrics is not public', () => {
  let open: TestApp;
  let tokened: TestApp;
  const TOKEN = 'metrics-token-0123456789abcdef';
  beforeAll(async () => {
    open = await startTestApp();
    tokened = await startTestApp({ env: { METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await open?.close();
    await tokened?.close();
  });
  const get = (t: TestApp, remoteAddress: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url: '/metrics', remoteAddress, headers });

  it('without METRICS_TOKEN: loopback only, and never through a proxy', async () => {
    const local = await get(open, '127.0.0.1');
    expect(local.statusCode).toBe(200);
    expect(local.body).toMatch(/process_cpu_user_seconds_total/);
    expect((await get(open, '::1')).statusCode).toBe(200);
    const remote = await get(open, '203.0.113.9');
    expect(remote.statusCode).toBe(403);
    expect(remote.json()).toMatchObject({ code: 'forbidden' });
    expect(remote.body).not.toMatch(/process_cpu/);
    // A reverse proxy on the same host (TRUST_PROXY unset) makes everyone loopback: a forwarded
    // request is refused.
    expect((await get(open, '127.0.0.1', { 'x-forwarded-for': '203.0.113.9' })).statusCode).toBe(403);
    expect((await get(open, '127.0.0.1', { forwarded: 'for=203.0.113.9' })).statusCode).toBe(403);
  });

  it('with METRICS_TOKEN: the bearer token, from anywhere', async () => {
    expect((await get(tokened, '203.0.113.9')).statusCode).toBe(401);
    expect((await get(tokened, '127.0.0.1')).statusCode).toBe(401);
    expect((await get(tokened, '203.0.113.9', { authorization: 'Bearer wrong-token-0123456789abcdef' })).statusCode).toBe(401);
    const ok = await get(tokened, '203.0.113.9', { authorization: `Bearer ${TOKEN}` });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toMatch(/process_cpu_user_seconds_total/);
  });

  it('over a real loopback socket: a direct client gets it, a proxied one does not', async () => {
    const base = await open.listen();
    const r = await fetch(`${base}/metrics`, { headers: { 'x-real-ip': '198.51.100.7' } });
    expect(r.status).toBe(403);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });
});

describe.each(['', '127.0.0.1'])('/metrics behind a real nginx (TRUST_PROXY=%s)', (trust) => {
  let t: TestApp;
  let proxy: Proxy;
  let direct: string;
  beforeAll(async () => {
    t = await startTestApp({ env: trust ? { TRUST_PROXY: trust } : {} });
    direct = await t.listen();
    proxy = await startNginx(direct);
  });
  afterAll(async () => {
    await proxy?.stop();
    await t?.close();
  });

  it('refuses every client coming through the proxy, loopback ones included, and answers the direct loopback scraper', async () => {
    // Without TRUST_PROXY the app sees nginx (127.0.0.1) for everyone; with it, the client's own
    // loopback address (127.0.0.2): either way the forwarded request is refused.
    expect(await getFrom(proxy.url, '/metrics', '127.0.0.2', {})).toBe(403);
    expect(await getFrom(proxy.url, '/metrics', '127.0.0.3', { 'x-forwarded-for': '127.0.0.1' })).toBe(403);
    expect(await getFrom(direct, '/metrics', '127.0.0.1', {})).toBe(200);
  });
});
