/**
 * How the server serves the built pages: entry pages with history fallbacks, hashed assets with
 * long caching, the dev mailbox page only without SMTP, and a clear page when nothing is built.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWeb } from '../../src/platform/http/web.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ensureWebBuilt } from './web-build.js';

describe('serving the web pages', () => {
  let t: TestApp;
  beforeAll(async () => {
    await ensureWebBuilt();
    t = await startTestApp({ startJobs: false });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serves each entry page at its paths, uncached, and its assets cached for good', async () => {
    for (const [path, marker] of [
      ['/certificate?token=abc', 'claim/'],
      ['/admin', 'admin'],
      ['/admin/campaigns/3/template', 'admin'],
      ['/dev/mail', 'dev-mail'],
      ['/dev/mail/12', 'dev-mail'],
    ] as const) {
      const res = await t.app.inject({ url: path });
      expect(res.statusCode, path).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.body).toMatch(/<script type="module"[^>]+src="\/web\/assets\//);
      expect(res.body.toLowerCase()).toContain('<!doctype html>');
      void marker;
    }
    const html = (await t.app.inject({ url: '/certificate' })).body;
    const asset = /src="(\/web\/assets\/[^"]+\.js)"/.exec(html)![1];
    const js = await t.app.inject({ url: asset });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect(js.headers['cache-control']).toContain('immutable');
  });

  it('serves / as a page pointing to the console, the member and assistant pages and the API docs', async () => {
    const res = await t.app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    for (const href of ['/admin', '/accounts', '/assistant', '/docs']) expect(res.body).toContain(`href="${href}"`);
  });

  it('links an icon in every page and answers /favicon.ico with an icon', async () => {
    for (const path of ['/', '/certificate', '/admin', '/dev/mail', '/accounts', '/assistant']) {
      expect((await t.app.inject({ url: path })).body, path).toMatch(/<link rel="icon" href="\/web\/icon\.svg"/);
    }
    const ico = await t.app.inject({ url: '/favicon.ico' });
    expect(ico.statusCode).toBe(200);
    expect(ico.headers['content-type']).toBe('image/x-icon');
    expect(ico.rawPayload.subarray(0, 4)).toEqual(Buffer.from([0, 0, 1, 0]));
    const svg = await t.app.inject({ url: '/web/icon.svg' });
    expect(svg.statusCode).toBe(200);
    expect(svg.headers['content-type']).toMatch(/image\/svg\+xml/);
  });

  it('serves every script and style precompressed by Accept-Encoding (brotli, else gzip, else plain), with Vary', async () => {
    const { brotliDecompressSync, gunzipSync } = await import('node:zlib');
    const assets = new Set<string>();
    for (const path of ['/', '/certificate', '/admin', '/accounts', '/assistant']) {
      const html = (await t.app.inject({ url: path })).body;
      for (const m of html.matchAll(/(?:src|href)="(\/web\/assets\/[^"]+\.(?:js|css))"/g)) assets.add(m[1]);
    }
    expect(assets.size).toBeGreaterThan(5);
    for (const url of assets) {
      const plain = await t.app.inject({ url, headers: { 'accept-encoding': 'identity' } });
      expect(plain.statusCode, url).toBe(200);
      expect(plain.headers['content-encoding'], url).toBeUndefined();
      expect(plain.headers.vary, url).toMatch(/accept-encoding/i);
      if (plain.rawPayload.length < 1024) continue; // too small to be worth compressing
      const br = await t.app.inject({ url, headers: { 'accept-encoding': 'gzip, deflate, br' } });
      expect(br.headers['content-encoding'], url).toBe('br');
      expect(br.headers.vary, url).toMatch(/accept-encoding/i);
      expect(br.headers['cache-control'], url).toContain('immutable');
      expect(br.headers['content-type'], url).toMatch(/javascript|css/);
      expect(br.rawPayload.length, url).toBeLessThan(plain.rawPayload.length * 0.6);
      expect(brotliDecompressSync(br.rawPayload).equals(plain.rawPayload), url).toBe(true);
      const gz = await t.app.inject({ url, headers: { 'accept-encoding': 'gzip' } });
      expect(gz.headers['content-encoding'], url).toBe('gzip');
      expect(gunzipSync(gz.rawPayload).equals(plain.rawPayload), url).toBe(true);
    }
  });

  it('keeps the APIs and unknown paths answering JSON, and never serves HTML files as assets', async () => {
    const missing = await t.app.inject({ url: '/nothing-here' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'not_found' });
    expect((await t.app.inject({ url: '/web/certificate.html' })).statusCode).toBe(404);
    expect((await t.app.inject({ url: '/web/assets/nope.js' })).statusCode).toBe(404);
    expect((await t.app.inject({ url: '/web/../package.json' })).statusCode).not.toBe(200);
  });

  it('says how to build the pages when they are missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'vh-noweb-'));
    const app = Fastify();
    try {
      await registerWeb(app, { root: empty, devMail: false });
      const res = await app.inject({ url: '/admin/anything' });
      expect(res.statusCode).toBe(503);
      expect(res.body).toContain('npm run build');
      expect((await app.inject({ url: '/dev/mail' })).statusCode).toBe(404);
    } finally {
      await app.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
