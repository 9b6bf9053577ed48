/**
 * Issue 10 item 11: images checked by their header only. A JPEG whose header says 6000x6000 with
 * no scan data was accepted as a template (Skia "decodes" it to grey, slowly) and a truncated PNG
 * or JPEG went the same way. Every image upload (the v2 template, the seed's /api/uploadImage,
 * the issuer logo) now verifies the whole file and refuses with a clear message.
 */
import { createCanvas } from '@napi-rs/canvas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ADMIN, uploadTemplate } from '../certificates/helpers.js';

/** A JPEG with some texture (so its scan data is not trivially small). */
function photo(width: number, height: number): Buffer {
  const c = createCanvas(width, height);
  const g = c.getContext('2d');
  for (let i = 0; i < 200; i++) {
    g.fillStyle = `hsl(${(i * 37) % 360} 70% 50%)`;
    g.fillRect((i * 53) % width, (i * 97) % height, 40, 30);
  }
  return c.toBuffer('image/jpeg');
}

/** The JPEG's headers up to and including its SOS segment, the SOF size replaced, then EOI: no scan data. */
function headerOnlyJpeg(src: Buffer, width: number, height: number): Buffer {
  const b = Buffer.from(src);
  let i = 2;
  for (;;) {
    const m = b[i + 1];
    const len = b.readUInt16BE(i + 2);
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      b.writeUInt16BE(height, i + 5);
      b.writeUInt16BE(width, i + 7);
    }
    if (m === 0xda) return Buffer.concat([b.subarray(0, i + 2 + len), Buffer.from([0xff, 0xd9])]);
    i += 2 + len;
  }
}

describe('image uploads are decoded and verified in full', () => {
  let t: TestApp;
  let base: string;
  const auth = { authorization: `Bearer ${ADMIN}` };
  const good = photo(600, 400);
  const pngGood = createCanvas(300, 200).toBuffer('image/png');
  const bad: Array<[string, Buffer]> = [
    ['a 6000x6000 JPEG header with no scan data', headerOnlyJpeg(good, 6000, 6000)],
    ['a JPEG cut to a third, EOI appended', Buffer.concat([good.subarray(0, Math.floor(good.length / 3)), Buffer.from([0xff, 0xd9])])],
    ['a JPEG cut short', good.subarray(0, good.length - 200)],
    ['a PNG cut short', pngGood.subarray(0, pngGood.length - 30)],
  ];

  beforeAll(async () => {
    t = await startTestApp({ env: { PUBLIC_URL: 'http://vh.test' } });
    base = await t.listen();
    const c = await t.app.inject({
      method: 'POST',
      url: '/api/v2/certificates/campaigns',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'Images', slug: 'images' }),
    });
    expect(c.statusCode).toBe(201);
  });
  afterAll(async () => t?.close());

  const put = async (what: 'template' | 'logo', bytes: Buffer) => {
    const form = new FormData();
    form.append(what, new Blob([new Uint8Array(bytes)]), 'x.jpg');
    const r = await fetch(`${base}/api/v2/certificates/campaigns/images/${what}`, { method: 'PUT', body: form, headers: auth });
    return { status: r.status, body: (await r.json()) as { code: unknown; message: string } };
  };

  it('accepts whole images', async () => {
    expect((await put('template', good)).status).toBe(200);
    expect((await put('template', pngGood)).status).toBe(200);
    expect((await put('logo', good)).status).toBe(200);
  });

  for (const [name, bytes] of bad) {
    it(`refuses ${name}: v2 template, seed upload and logo`, async () => {
      const v2 = await put('template', bytes);
      expect(v2.status).toBe(422);
      expect(v2.body.message).toMatch(/damaged|truncated|incomplete|no image data/i);
      const seed = await uploadTemplate(base, bytes);
      expect(seed.body.code).not.toBe(0);
      expect(seed.body.message).toMatch(/damaged|truncated|incomplete|no image data/i);
      const logo = await put('logo', bytes);
      expect(logo.status).toBe(422);
      // (the 6000x6000 one is refused for its size first: a logo has at most 4 megapixels)
      expect(logo.body.message).toMatch(/damaged|truncated|incomplete|no image data|megapixels/i);
    });
  }

  it('keeps the last good template after a refusal', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/api/v2/certificates/campaigns/images', headers: auth });
    expect(r.json<{ template: unknown }>().template).toMatchObject({ width: 300, height: 200 });
  });
});
