import { describe, expect, it } from 'vitest';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { adler32, deflateDirty, filterRowsFast } from './png-encode.js';

/** The filter as first written: byte by byte, Sub on each 16-row band's first row, Up below. */
function reference(rgba: Uint8ClampedArray, width: number, rows: number): Buffer {
  const stride = width * 3;
  const out = Buffer.alloc((stride + 1) * rows);
  for (let r = 0; r < rows; r++) {
    let o = r * (stride + 1);
    out[o++] = r % 16 === 0 ? 1 : 2;
    for (let x = 0; x < width; x++) {
      const p = (r * width + x) * 4;
      for (let c = 0; c < 3; c++) {
        const pred = r % 16 === 0 ? (x ? rgba[p + c - 4] : 0) : rgba[p + c - width * 4];
        out[o++] = (rgba[p + c] - pred) & 0xff;
      }
    }
  }
  return out;
}

describe('filterRowsFast', () => {
  it('gives the reference filter bytes and their Adler-32, with runs of repeated pixels, alpha ignored', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    for (const [width, rows] of [
      [1, 1],
      [5, 17],
      [750, 48],
      [2480, 33],
    ]) {
      const rgba = new Uint8ClampedArray(width * rows * 4);
      for (let i = 0; i < rgba.length; i += 4) {
        const above = i - width * 4;
        // Mostly the pixel above (as a template's background), sometimes new, alpha always noise.
        if (above >= 0 && rnd() < 200) rgba.set(rgba.subarray(above, above + 3), i);
        else rgba.set([rnd(), rnd(), rnd()], i);
        rgba[i + 3] = rnd();
      }
      const { raw, adler } = filterRowsFast(rgba, width, rows);
      const want = reference(rgba, width, rows);
      expect(raw.equals(want)).toBe(true);
      expect(adler).toBe(adler32(want));
    }
  });

  it('reads pixels at any offset of their buffer', () => {
    const backing = new Uint8ClampedArray(2 + 3 * 4 * 4);
    const rgba = new Uint8ClampedArray(backing.buffer, 2, 3 * 4 * 4);
    rgba.forEach((_, i) => (rgba[i] = (i * 37) & 0xff));
    const { raw, adler } = filterRowsFast(rgba, 3, 4);
    expect(raw.equals(reference(rgba, 3, 4))).toBe(true);
    expect(adler).toBe(adler32(raw));
  });
});

describe('deflateDirty', () => {
  it('gives the bytes the thread-pool deflate gave (level 1, full flush) for dirty runs', async () => {
    const deflateRaw = promisify(zlib.deflateRaw);
    for (const [width, rows] of [
      [750, 16],
      [750, 64],
      [2480, 48],
      [37, 3],
    ] as const) {
      // A flat template with a few strokes of "text" and some noise, as a dirty run looks.
      const rgba = new Uint8ClampedArray(width * rows * 4).fill(0xf0);
      for (let i = 0; i < rgba.length; i += 4 * 13) rgba[i] = (i * 7) & 0xff;
      for (let r = 2; r < rows; r += 5) rgba.fill(0x20, (r * width + 5) * 4, (r * width + Math.min(width, 200)) * 4);
      const { raw } = filterRowsFast(rgba, width, rows);
      const old = await deflateRaw(raw, { level: 1, finishFlush: zlib.constants.Z_FULL_FLUSH });
      expect(deflateDirty(raw).equals(old)).toBe(true);
    }
  });
});
