import { inflateSync } from 'node:zlib';
import QRCode from 'qrcode';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodePixels, inkBox, luma, makeTemplate } from '../../../../test/fixtures/templates/generate.js';
import { ImageRejected, RenderRefused, clearTemplateCache, defaultLayout, renderCertificate } from './index.js';
import { drawCertificate } from './render.js';
import { loadTemplate } from './template-cache.js';
import type { Layout, RenderInput } from './types.js';

const W = 750;
const H = 1200;
let white: Buffer;
let decorated: Buffer;

beforeAll(async () => {
  white = await makeTemplate();
  decorated = await makeTemplate({ style: 'decorated' });
});

/** Only the name, at (375, 300), 48 px, black; everything else omitted. */
function nameOnly(over: Partial<Layout['name']> = {}): Layout {
  const l = defaultLayout(W, H);
  l.name = { x: 375, y: 300, size: 48, color: '#000000', align: 'center', ...over };
  l.number = { ...l.number, x: -1 };
  l.date = { ...l.date, y: -1 };
  l.qr = { x: -1, y: -1, size: 150 };
  return l;
}

function input(over: Partial<RenderInput> = {}): RenderInput {
  return {
    template: white,
    templateKey: 'white',
    layout: nameOnly(),
    name: '张伟',
    issuedAt: Date.UTC(2026, 0, 1, 20, 0),
    timeZone: 'Asia/Shanghai',
    format: 'png',
    ...over,
  };
}

async function render(over: Partial<RenderInput> = {}) {
  return decodePixels(await renderCertificate(input(over)));
}

describe('renderCertificate: placement', () => {
  it('draws the name centred on its position and nowhere else', async () => {
    const px = await render();
    expect(px.width).toBe(W);
    expect(px.height).toBe(H);
    const ink = inkBox(px)!;
    expect(ink).not.toBeNull();
    // Centred horizontally on x = 375 and vertically on y = 300 (glyph ink, a few px of slack).
    expect(Math.abs((ink.left + ink.right) / 2 - 375)).toBeLessThanOrEqual(4);
    expect(Math.abs((ink.top + ink.bottom) / 2 - 300)).toBeLessThanOrEqual(5);
    // Two 48 px ideographs: about 96 px wide, about 40-48 px tall.
    expect(ink.right - ink.left).toBeGreaterThan(80);
    expect(ink.right - ink.left).toBeLessThan(100);
    expect(ink.bottom - ink.top).toBeGreaterThan(35);
    expect(ink.bottom - ink.top).toBeLessThanOrEqual(48);
  });

  it('moves the ink with the alignment: left edge, centre, right edge on x', async () => {
    const left = inkBox(await render({ layout: nameOnly({ x: 100, align: 'left' }) }))!;
    const right = inkBox(await render({ layout: nameOnly({ x: 650, align: 'right' }) }))!;
    const center = inkBox(await render({ layout: nameOnly({ x: 375, align: 'center' }) }))!;
    expect(Math.abs(left.left - 100)).toBeLessThanOrEqual(6);
    expect(left.right).toBeGreaterThan(150);
    expect(Math.abs(right.right - 650)).toBeLessThanOrEqual(6);
    expect(right.left).toBeLessThan(600);
    expect(Math.abs((center.left + center.right) / 2 - 375)).toBeLessThanOrEqual(4);
  });

  it('uses the colour and size of the field', async () => {
    const px = await render({ layout: nameOnly({ color: '#ff0000', size: 96 }) });
    const ink = inkBox(px, undefined, 200)!;
    expect(ink.bottom - ink.top).toBeGreaterThan(75);
    // Sample the darkest pixel's colour: red, not black.
    let red = 0;
    for (let y = ink.top; y <= ink.bottom; y++) {
      for (let x = ink.left; x <= ink.right; x++) {
        const i = (y * W + x) * 4;
        if (px.data[i] > 240 && px.data[i + 1] < 20 && px.data[i + 2] < 20) red++;
      }
    }
    expect(red).toBeGreaterThan(200);
  });

  it('shrinks a very long name to fit maxWidth and never overflows it', async () => {
    const long = 'Maximiliana Alexandrina Wilhelmina von Hohenzollern-Sigmaringen 欧阳娜娜·阿卜杜勒 Großherzogin';
    const layout = nameOnly({ maxWidth: 300 });
    const ink = inkBox(await render({ name: long, layout }))!;
    expect(ink.left).toBeGreaterThanOrEqual(375 - 150);
    expect(ink.right).toBeLessThanOrEqual(375 + 150);
    expect(ink.right - ink.left).toBeGreaterThan(250); // shrunk to fit, not to nothing
    expect(ink.bottom - ink.top).toBeLessThan(30); // smaller than the 48 px asked for
    // Without maxWidth the template edge (minus a 2% margin) is the limit.
    const wide = inkBox(await render({ name: long, layout: nameOnly() }))!;
    expect(wide.left).toBeGreaterThanOrEqual(15);
    expect(wide.right).toBeLessThanOrEqual(W - 15);
    // A short name is not enlarged to fill the box.
    const short = inkBox(await render({ name: 'Li', layout }))!;
    expect(short.right - short.left).toBeLessThan(60);
  });

  it('leaves a field out when its x or y is negative', async () => {
    const l = nameOnly();
    l.number = { x: 100, y: 900, size: 30, color: '#000000', align: 'left' };
    const withNumber = await render({ layout: l, number: 'NO-0001' });
    const area = { left: 0, top: 850, right: W - 1, bottom: 950 };
    expect(inkBox(withNumber, area)).not.toBeNull(); // so the test below can fail
    for (const pos of [
      { x: -1, y: 900 },
      { x: 100, y: -1 },
    ]) {
      const off = nameOnly();
      off.number = { ...l.number, ...pos };
      expect(inkBox(await render({ layout: off, number: 'NO-0001' }), area)).toBeNull();
    }
    const noName = await render({ layout: nameOnly({ x: -5 }) });
    expect(inkBox(noName)).toBeNull();
  });

  it('prints the date in the given time zone and format', async () => {
    // 2026-01-01 20:00 UTC is already 2 January in Shanghai.
    const l = nameOnly({ x: -1 });
    l.date = { x: 100, y: 600, size: 40, color: '#000000', align: 'left', format: 'YYYY-MM-DD' };
    const at = Date.UTC(2026, 0, 1, 20, 0);
    const sh = await renderCertificate(input({ layout: l, issuedAt: at, timeZone: 'Asia/Shanghai' }));
    const utc = await renderCertificate(input({ layout: l, issuedAt: at, timeZone: 'UTC' }));
    expect(sh.equals(utc)).toBe(false);
    // Same text drawn as the name proves which date each one printed.
    const asName = (text: string) =>
      renderCertificate(input({ layout: nameOnly({ x: 100, y: 600, size: 40, align: 'left' }), name: text }));
    const same = async (a: Buffer, b: Buffer) => {
      const [pa, pb] = [await decodePixels(a), await decodePixels(b)];
      return Buffer.from(pa.data).equals(Buffer.from(pb.data));
    };
    expect(await same(sh, await asName('2026-01-02'))).toBe(true);
    expect(await same(utc, await asName('2026-01-01'))).toBe(true);
  });
});

describe('renderCertificate: QR code', () => {
  it('draws the verify URL as a QR code whose modules match the encoded symbol', async () => {
    const url = 'https://certs.example.org/verify/AbCdEf123456';
    const l = nameOnly();
    l.qr = { x: 500, y: 900, size: 200 };
    const px = await render({ layout: l, verifyUrl: url });
    const qr = QRCode.create(url, { errorCorrectionLevel: 'M' });
    const n = qr.modules.size;
    const total = n + 4; // 2 modules of quiet zone each side
    const cell = 200 / total;
    // Quiet zone is white (drawn pad), and every module centre has the expected colour.
    expect(luma(px, 500 + cell / 2, 900 + cell / 2)).toBeGreaterThan(200);
    let wrong = 0;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const dark = luma(px, 500 + (c + 2.5) * cell, 900 + (r + 2.5) * cell) < 128;
        if (dark !== Boolean(qr.modules.get(r, c))) wrong++;
      }
    }
    expect(wrong).toBe(0);
    // Finder patterns: dark centre squares at the top-left, top-right and bottom-left corners.
    for (const [r, c] of [
      [3, 3],
      [3, n - 4],
      [n - 4, 3],
    ]) {
      expect(luma(px, 500 + (c + 2.5) * cell, 900 + (r + 2.5) * cell)).toBeLessThan(64);
    }
    // Nothing drawn outside the QR box and the name.
    expect(inkBox(px, { left: 0, top: 400, right: 499, bottom: H - 1 })).toBeNull();
  });

  it('refuses a verify URL too long for any QR code with a clear error', async () => {
    const l = nameOnly();
    l.qr = { x: 500, y: 900, size: 200 };
    await expect(renderCertificate(input({ layout: l, verifyUrl: `https://x.org/${'a'.repeat(5000)}` }))).rejects.toMatchObject({
      field: 'qr',
      reason: 'too_long',
    });
  });

  it('omits the QR code when placed at a negative position or without a URL', async () => {
    const l = nameOnly();
    l.qr = { x: 500, y: -1, size: 200 };
    expect(
      inkBox(await render({ layout: l, verifyUrl: 'https://x.org/v/1' }), { left: 0, top: 400, right: W - 1, bottom: H - 1 }),
    ).toBeNull();
    l.qr = { x: 500, y: 900, size: 200 };
    expect(inkBox(await render({ layout: l }), { left: 0, top: 400, right: W - 1, bottom: H - 1 })).toBeNull();
  });
});

describe('renderCertificate: output', () => {
  /** Every field on the decorated template (the default layout with a QR code). */
  function everyField(over: Partial<RenderInput>): RenderInput {
    const layout = defaultLayout(W, H);
    layout.qr = { x: 560, y: 980, size: 150 };
    return input({ template: decorated, templateKey: 'deco', layout, ...over });
  }

  it('is deterministic: same inputs, same bytes, warm or cold cache, with or without a key', async () => {
    const args = everyField({ name: '欧阳·Zoë', number: 'NO-0042', verifyUrl: 'https://x.org/verify/abc' });
    const a = await renderCertificate(args);
    const b = await renderCertificate(args);
    clearTemplateCache();
    const c = await renderCertificate(args);
    const d = await renderCertificate({ ...args, templateKey: undefined });
    expect(b.equals(a)).toBe(true);
    expect(c.equals(a)).toBe(true);
    expect(d.equals(a)).toBe(true);
    const other = await renderCertificate({ ...args, name: '欧阳·Zoe' });
    expect(other.equals(a)).toBe(false);
  });

  it('gives each certificate its own pixels when renders of one template follow each other (bands of other sizes and places before it)', async () => {
    const big = everyField({ name: '欧阳·Zoë 很长的名字', number: 'NO-9', verifyUrl: 'https://x.org/v/9' });
    const small = input({ template: decorated, templateKey: 'deco', layout: nameOnly({ y: 120, size: 20 }), name: 'Li' });
    await renderCertificate(big);
    const after = await decodePixels(await renderCertificate(small));
    await renderCertificate(small);
    await renderCertificate(big);
    const again = await decodePixels(await renderCertificate(big));
    // A transparent page, text with half-covered (anti-aliased) edges: the pixels read back are
    // the one-canvas reference's too.
    const clear = await makeTemplate({ style: 'decorated', transparent: true });
    const onClear = { ...big, template: clear, templateKey: 'clear-decorated' };
    const clearOut = await decodePixels(await renderCertificate(onClear));
    for (const [args, out] of [
      [small, after],
      [big, again],
      [onClear, clearOut],
    ] as const) {
      const ref = drawCertificate(await loadTemplate(args.template, args.templateKey), args)
        .canvas.getContext('2d')
        .getImageData(0, 0, W, H).data;
      expect(Buffer.from(out.data).equals(Buffer.from(ref))).toBe(true);
    }
  });

  it('writes a valid PNG whose pixels are exactly the drawn certificate', async () => {
    const args = everyField({ number: 'NO-1', verifyUrl: 'https://x.org/v/1' });
    const png = await renderCertificate(args);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    // zlib checks the Adler-32 of the spliced stream; a wrong one throws here.
    const idat: Buffer[] = [];
    for (let o = 8; o < png.length;) {
      const len = png.readUInt32BE(o);
      const type = png.toString('latin1', o + 4, o + 8);
      if (type === 'IDAT') idat.push(png.subarray(o + 8, o + 8 + len));
      o += 12 + len;
    }
    const raw = inflateSync(Buffer.concat(idat));
    expect(raw.length).toBe(H * (1 + W * 3));
    // The template's untouched areas survive exactly (top border area of the decorated page).
    const tpl = await decodePixels(decorated);
    const out = await decodePixels(png);
    expect(Buffer.from(out.data.subarray(0, W * 4 * 100)).equals(Buffer.from(tpl.data.subarray(0, W * 4 * 100)))).toBe(true);
    // Band-by-band drawing gives exactly the pixels of drawing everything on one canvas.
    const ref = drawCertificate(await loadTemplate(decorated, 'deco'), args)
      .canvas.getContext('2d')
      .getImageData(0, 0, W, H).data;
    expect(Buffer.from(out.data).equals(Buffer.from(ref))).toBe(true);
  });

  it('writes a single-page PDF with the same pixels, parseable by its xref', async () => {
    const args = input({ template: decorated, templateKey: 'deco' });
    const pdf = await renderCertificate({ ...args, format: 'pdf' });
    const png = await renderCertificate(args);
    const text = pdf.toString('latin1');
    expect(text.startsWith('%PDF-1.4\n')).toBe(true);
    expect(text.trimEnd().endsWith('%%EOF')).toBe(true);
    // Every xref offset points at its object.
    const startxref = Number(/startxref\n(\d+)\n%%EOF\s*$/.exec(text)![1]);
    expect(text.startsWith('xref\n', startxref)).toBe(true);
    const entries = text
      .slice(startxref)
      .split('\n')
      .slice(3)
      .filter((l) => / 00000 n $/.test(l));
    expect(entries.length).toBe(6);
    entries.forEach((e, i) => expect(text.startsWith(`${i + 1} 0 obj`, Number(e.slice(0, 10)))).toBe(true));
    // Page in the image's proportions, long side 842 pt (A4's).
    expect(/\/Type \/Page [^\n]*\/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]/.exec(text)?.slice(1)).toEqual(['526.25', '842']);
    // The image stream: PNG-predicted rows (/Predictor 15) of exactly the PNG's pixels.
    const m = /\/Width (\d+) \/Height (\d+) .*\/Length (\d+) >>\nstream\n/.exec(text)!;
    expect([Number(m[1]), Number(m[2])]).toEqual([W, H]);
    const start = m.index + m[0].length;
    const rows = unpredict(inflateSync(pdf.subarray(start, start + Number(m[3]))), W, H);
    const px = await decodePixels(png);
    let diff = 0;
    for (let i = 0, j = 0; i < px.data.length; i += 4, j += 3) {
      if (px.data[i] !== rows[j] || px.data[i + 1] !== rows[j + 1] || px.data[i + 2] !== rows[j + 2]) diff++;
    }
    expect(diff).toBe(0);
    expect((await renderCertificate({ ...args, format: 'pdf' })).equals(pdf)).toBe(true);
  });

  it('renders on a JPEG template and puts white under a transparent one', async () => {
    const jpeg = await makeTemplate({ format: 'jpeg', style: 'decorated' });
    const a = await render({ template: jpeg, templateKey: 'jpeg' });
    expect(inkBox(a, { left: 300, top: 270, right: 450, bottom: 330 }, 100)).not.toBeNull();
    const clear = await makeTemplate({ transparent: true });
    const b = await render({ template: clear, templateKey: 'clear' });
    expect(luma(b, 10, 10)).toBe(255);
  });

  it('renders whatever a stored layout holds: garbage values fall back instead of throwing', async () => {
    const junk = {
      name: { x: 375, y: 300, size: Number.NaN, color: 'red; drop', align: 'middle', maxWidth: -5, font: 'no-such-font' },
      number: { x: 1e9, y: 100, size: 1e9, color: '#12', align: 'left' },
      date: { x: Number.POSITIVE_INFINITY, y: 10, size: -3, color: '#000000', align: 'right', format: '' },
      qr: { x: 700, y: 1150, size: 1e9 },
    } as unknown as Layout;
    const px = await render({ layout: junk, number: 'N1', verifyUrl: 'https://x.org/v/1' });
    const ink = inkBox(px, { left: 0, top: 200, right: W - 1, bottom: 400 })!;
    expect(Math.abs((ink.left + ink.right) / 2 - 375)).toBeLessThanOrEqual(6); // name still drawn
    // Missing fields are omitted; an omitted field's text is not checked (nothing is drawn).
    const partial = { name: nameOnly().name } as unknown as Layout;
    const only = await render({ layout: partial, number: 'NO-🙂', verifyUrl: 'https://x.org/v/1' });
    expect(inkBox(only, { left: 0, top: 400, right: W - 1, bottom: H - 1 })).toBeNull();
  });

  it('refuses a name the font cannot draw, and a template that is not an image', async () => {
    await expect(renderCertificate(input({ name: '张伟😀' }))).rejects.toBeInstanceOf(RenderRefused);
    await expect(renderCertificate(input({ name: '   ' }))).rejects.toMatchObject({ reason: 'empty' });
    const withNumber = nameOnly();
    withNumber.number = { x: 100, y: 900, size: 30, color: '#000000', align: 'left' };
    await expect(renderCertificate(input({ layout: withNumber, number: 'NO-🙂' }))).rejects.toMatchObject({ field: 'number' });
    await expect(renderCertificate(input({ template: Buffer.from('hello'), templateKey: 'text' }))).rejects.toBeInstanceOf(ImageRejected);
  });
});

/** Undoes PNG row filters (what a PDF reader does for /Predictor 15). */
function unpredict(data: Buffer, width: number, height: number): Uint8Array {
  const stride = width * 3;
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const f = data[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const o = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= 3 ? out[o + i - 3] : 0;
      const b = y > 0 ? out[o - stride + i] : 0;
      const c = i >= 3 && y > 0 ? out[o - stride + i - 3] : 0;
      const p = a + b - c;
      const pred =
        f === 0
          ? 0
          : f === 1
            ? a
            : f === 2
              ? b
              : f === 3
                ? (a + b) >> 1
                : Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
                  ? a
                  : Math.abs(p - b) <= Math.abs(p - c)
                    ? b
                    : c;
      out[o + i] = (data[src + i] + pred) & 0xff;
    }
  }
  return out;
}

describe('renderCertificate: font ids', () => {
  it("draws a field whose layout names another font (a stored layout's id) in the bundled font", async () => {
    // The same bytes (the encoder is deterministic, see below): compared as buffers, not pixel by pixel.
    const named = await renderCertificate(input({ name: 'A张', layout: nameOnly({ font: 'organizer-font' }) }));
    const plain = await renderCertificate(input({ name: 'A张', layout: nameOnly() }));
    expect(named.equals(plain)).toBe(true);
  });
});

describe('renderCertificate: determinism across processes', () => {
  it('gives the same bytes in a fresh process (no process-local state leaks into the output)', async () => {
    const { spawnSync } = await import('node:child_process');
    const { createHash } = await import('node:crypto');
    const script = `
      import { makeTemplate } from './test/fixtures/templates/generate.ts';
      import { defaultLayout, renderCertificate } from './src/modules/certificates/render/index.ts';
      import { createHash } from 'node:crypto';
      const layout = defaultLayout(750, 1200);
      layout.qr = { x: 560, y: 980, size: 150 };
      const args = { template: await makeTemplate({ style: 'decorated' }), layout, name: '欧阳·Zoë', number: 'NO-0042',
        issuedAt: Date.UTC(2026, 0, 1, 20), timeZone: 'Asia/Shanghai', verifyUrl: 'https://x.org/verify/abc' };
      for (const format of ['png', 'pdf']) console.log(createHash('sha256').update(await renderCertificate({ ...args, format })).digest('hex'));
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: new URL('../../../../', import.meta.url).pathname,
      encoding: 'utf8',
    });
    expect(child.status, child.stderr).toBe(0);
    const layout = defaultLayout(W, H);
    layout.qr = { x: 560, y: 980, size: 150 };
    const args = input({
      template: decorated,
      templateKey: 'deco',
      layout,
      name: '欧阳·Zoë',
      number: 'NO-0042',
      verifyUrl: 'https://x.org/verify/abc',
    });
    const here = [
      createHash('sha256')
        .update(await renderCertificate(args))
        .digest('hex'),
      createHash('sha256')
        .update(await renderCertificate({ ...args, format: 'pdf' }))
        .digest('hex'),
    ];
    expect(child.stdout.trim().split('\n')).toEqual(here);
  });
});
