/**
 * Issue 10 item 8 (work one caller can force), the claim page's preview: it rendered the full
 * template on every call (8 clients looping on one link made /healthz answer in ~0.5 s). Now the
 * preview is a JPEG at most 800 px wide, the same picture asked again (or by 8 clients at once) is
 * rendered once, and previews are limited per link and per client in the database before any
 * rendering, answered with the v2 API's 429 envelope. Issue 15 ("scaled down, under 5 ms of
 * server CPU"): the preview holds at most CLAIM_PREVIEW.maxPixels pixels, 400x566 for an A4
 * portrait page and 566x400 for a landscape one (rendering.ts says why that size).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { ADMIN, v2Api, whiteTemplate } from '../certificates/helpers.js';
import { hashToken } from '../../src/platform/crypto/tokens.js';
import { probeImage } from '../../src/modules/certificates/render/index.js';
import { metricsRegistry } from '../../src/platform/http/ops.js';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import jsQRModule from 'jsqr';

const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as unknown as (
  data: Uint8ClampedArray,
  w: number,
  h: number,
) => { data: string } | null;

/** The QR code's text in a JPEG or PNG, or null. */
async function readQr(bytes: Buffer): Promise<string | null> {
  const img = await loadImage(bytes);
  const g = createCanvas(img.width, img.height).getContext('2d');
  g.drawImage(img, 0, 0);
  const px = g.getImageData(0, 0, img.width, img.height);
  return jsQR(new Uint8ClampedArray(px.data.buffer, px.data.byteOffset, px.data.byteLength), img.width, img.height)?.data ?? null;
}

const P = '/api/v2/certificates';
const auth = { authorization: `Bearer ${ADMIN}` };

async function counter(name: string): Promise<number> {
  const m = metricsRegistry.getSingleMetric(name);
  if (!m) return 0;
  return (await m.get()).values.reduce((a, v) => a + v.value, 0);
}

describe.each(testDialects())('claim previews one caller can force (%s)', (dialect) => {
  let t: TestApp;
  let base: string;
  const tokens: string[] = [];
  const api = v2Api(() => t);

  beforeAll(async () => {
    t = await startTestApp({ dialect, env: { PUBLIC_URL: 'http://vh.test' } });
    base = await t.listen();
    expect((await api('POST', '/campaigns', { name: 'Big template', slug: 'big' })).status).toBe(201);
    // A print-size template (A4 at 300 dpi): what a full render per preview paid for.
    const form = new FormData();
    form.append('template', new Blob([new Uint8Array(whiteTemplate(2480, 3508))]), 'a4.png');
    expect((await fetch(`${base}${P}/campaigns/big/template`, { method: 'PUT', body: form, headers: auth })).status).toBe(200);
    // The QR code where the certificate has it, at the default size (15% of the short side).
    expect((await api('PATCH', '/campaigns/big', { layout: { qr: { x: 2000, y: 3000, size: 372 } } })).status).toBe(200);
    const lines = Array.from({ length: 6 }, (_, i) => `v${i}@example.org,NO-${i}`);
    expect((await api('POST', '/campaigns/big/recipients', { lines })).status).toBe(200);
    // Known link tokens (the notices are not what this test is about).
    for (let i = 0; i < 6; i++) {
      const tok = `preview-test-token-${dialect}-${i}-${'x'.repeat(20)}`;
      tokens.push(tok);
      await t.core.db
        .updateTable('recipients')
        .set({ token_hash: hashToken(tok), status: 1 })
        .where('email', '=', `v${i}@example.org`)
        .execute();
    }
  });
  afterAll(async () => t?.close());

  const preview = (token: string, name: string) =>
    fetch(`${base}${P}/claim/preview`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, name }),
    });
  const injectPreview = (token: string, name: string, ip: string) =>
    t.app.inject({
      method: 'POST',
      url: `${P}/claim/preview`,
      remoteAddress: ip,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ token, name }),
    });

  it('answers a scaled-down JPEG, and the same picture asked by 8 clients at once is rendered once', async () => {
    const before = await counter('certificates_previews_rendered_total');
    const answers = await Promise.all(Array.from({ length: 8 }, () => preview(tokens[0]!, 'Mei Chen 陈美')));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(answers[0]!.headers.get('content-type')).toBe('image/jpeg');
    const bytes = Buffer.from(await answers[0]!.arrayBuffer());
    const info = probeImage(bytes);
    // Small, and the QR code the certificate will carry still reads.
    expect(await readQr(bytes)).toMatch(/^http:\/\/vh\.test\/verify\//);
    expect(info.type).toBe('jpeg');
    // The size chosen for the claim page (issue 15): an A4 page 400 px wide, its proportions kept.
    expect([info.width, info.height]).toEqual([400, 566]);
    expect((await counter('certificates_previews_rendered_total')) - before).toBe(1);
  });

  it('a landscape page gets the same number of pixels the other way round (566x400), so its texts are as legible', async () => {
    expect((await api('POST', '/campaigns', { name: 'Landscape', slug: 'wide' })).status).toBe(201);
    const form = new FormData();
    form.append('template', new Blob([new Uint8Array(whiteTemplate(3508, 2480))]), 'a4-landscape.png');
    expect((await fetch(`${base}${P}/campaigns/wide/template`, { method: 'PUT', body: form, headers: auth })).status).toBe(200);
    expect((await api('POST', '/campaigns/wide/recipients', { lines: ['wide@example.org,NO-W'] })).status).toBe(200);
    const tok = `preview-test-token-${dialect}-wide-${'x'.repeat(20)}`;
    await t.core.db
      .updateTable('recipients')
      .set({ token_hash: hashToken(tok), status: 1 })
      .where('email', '=', 'wide@example.org')
      .execute();
    const res = await injectPreview(tok, 'Mei Chen 陈美', '10.60.0.1');
    expect(res.statusCode).toBe(200);
    const info = probeImage(res.rawPayload);
    expect([info.type, info.width, info.height]).toEqual(['jpeg', 566, 400]);
  });

  it('8 clients looping previews on one link: /healthz keeps answering, and past the link limit every preview is refused with the 429 envelope', async () => {
    let done = false;
    const health: number[] = [];
    const healthLoop = (async () => {
      while (!done) health.push((await fetch(`${base}/healthz`)).status);
    })();
    let n = 0;
    const statuses: number[] = [];
    const refusals: { body: { code: string; message: string }; retryAfter: string | null }[] = [];
    const widths: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, c) => {
        for (let i = 0; i < 6; i++) {
          // Each a different name: nothing for the cache, a render each until the limit.
          const res = await preview(tokens[1]!, `Looping Client${c} Try${i} ${n++}`);
          statuses.push(res.status);
          if (res.status === 429)
            refusals.push({ body: (await res.json()) as { code: string; message: string }, retryAfter: res.headers.get('retry-after') });
          else widths.push(probeImage(Buffer.from(await res.arrayBuffer())).width);
        }
      }),
    );
    done = true;
    await healthLoop;
    expect(statuses.filter((s) => s === 200).length).toBe(30);
    expect(statuses.filter((s) => s === 429).length).toBe(48 - 30);
    // Each preview that was made is the small picture, not the 2480 px certificate.
    expect(Math.max(...widths)).toBe(400);
    for (const r of refusals) {
      expect(r.body).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/too many previews/) });
      expect(Number(r.retryAfter)).toBeGreaterThan(0);
    }
    // /healthz answered all along, between the previews, never an error.
    expect(health.length).toBeGreaterThan(1);
    expect(health.every((s) => s === 200)).toBe(true);
  });

  it('one client holding many links is limited over all of them (120 per 10 minutes)', async () => {
    const ip = '10.61.0.9';
    const answers: number[] = [];
    // 4 fresh links x 30 = 120 (cheap: the same picture per link comes from the cache).
    for (const tok of tokens.slice(2, 6)) for (let i = 0; i < 30; i++) answers.push((await injectPreview(tok, 'Ann Lee', ip)).statusCode);
    expect(answers.every((s) => s === 200)).toBe(true);
    // The next one from this client is refused; another client may still preview.
    const over = await injectPreview(tokens[0]!, 'Ann Lee', ip);
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ code: 'rate_limited' });
    expect((await injectPreview(tokens[0]!, 'Ann Lee', '10.61.0.10')).statusCode).toBe(200);
  });

  it('full-size files for the public (download by link, /verify/<id>.png) are limited per certificate and per client', async () => {
    const tok = tokens[1]!;
    const claim = await t.app.inject({
      method: 'POST',
      url: `${P}/claim`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ token: tok, name: 'Ann Lee' }),
    });
    expect(claim.statusCode).toBe(200);
    const dl = (ip: string) =>
      t.app.inject({ method: 'GET', url: `${P}/claim/download?token=${encodeURIComponent(tok)}`, remoteAddress: ip });
    const got: number[] = [];
    for (let i = 0; i < 20; i++) got.push((await dl(`10.62.0.${i % 4}`)).statusCode);
    expect(got).toEqual(Array(20).fill(200));
    // The 21st render of this certificate by link is refused, whoever asks.
    const over = await dl('10.62.9.9');
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ code: 'rate_limited' });
    // The public file by its printed id: one client gets at most 60 a window over all certificates.
    const certId = (await t.app.inject({ method: 'GET', url: `${P}/claim?token=${encodeURIComponent(tok)}` })).json()
      .certificateId as string;
    const png = (ip: string) => t.app.inject({ method: 'GET', url: `/verify/${certId}.png`, remoteAddress: ip });
    const first = await png('10.63.0.1');
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toBe('image/png');
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await png('10.63.0.1')).statusCode);
    expect(statuses.filter((s) => s === 200).length).toBe(19);
    expect(statuses.at(-1)).toBe(429);
  });
});
