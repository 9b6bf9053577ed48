import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FontParseError, parseFont } from './cmap.js';
import { defaultFontPath } from './fonts.js';

/** An sfnt with only a cmap table holding the given subtables (platform 3). */
function sfntWithCmap(subtables: Array<{ encoding: number; bytes: Buffer }>): Buffer {
  const header = Buffer.alloc(4 + subtables.length * 8);
  header.writeUInt16BE(0, 0);
  header.writeUInt16BE(subtables.length, 2);
  let off = header.length;
  subtables.forEach((s, i) => {
    header.writeUInt16BE(3, 4 + i * 8);
    header.writeUInt16BE(s.encoding, 6 + i * 8);
    header.writeUInt32BE(off, 8 + i * 8);
    off += s.bytes.length;
  });
  const cmap = Buffer.concat([header, ...subtables.map((s) => s.bytes)]);
  const dir = Buffer.alloc(12 + 16);
  dir.writeUInt32BE(0x00010000, 0);
  dir.writeUInt16BE(1, 4);
  dir.write('cmap', 12, 'latin1');
  dir.writeUInt32BE(28, 20);
  dir.writeUInt32BE(cmap.length, 24);
  return Buffer.concat([dir, cmap]);
}

/** cmap format 4: segments [start, end, delta, glyphIds?]; a final 0xFFFF segment is added. */
function format4(segs: Array<{ start: number; end: number; delta?: number; glyphs?: number[] }>): Buffer {
  const all = [...segs, { start: 0xffff, end: 0xffff, delta: 1 }];
  const n = all.length;
  const glyphArrays: number[] = [];
  const rangeOffsets: number[] = [];
  all.forEach((s, i) => {
    if ('glyphs' in s && s.glyphs) {
      // idRangeOffset counts bytes from its own slot to the glyph entry.
      rangeOffsets.push((n - i) * 2 + glyphArrays.length * 2);
      glyphArrays.push(...s.glyphs);
    } else rangeOffsets.push(0);
  });
  const b = Buffer.alloc(16 + n * 8 + glyphArrays.length * 2);
  b.writeUInt16BE(4, 0);
  b.writeUInt16BE(b.length, 2);
  b.writeUInt16BE(n * 2, 6);
  all.forEach((s, i) => {
    b.writeUInt16BE(s.end, 14 + i * 2);
    b.writeUInt16BE(s.start, 16 + n * 2 + i * 2);
    b.writeUInt16BE((s.delta ?? 0) & 0xffff, 16 + n * 4 + i * 2);
    b.writeUInt16BE(rangeOffsets[i], 16 + n * 6 + i * 2);
  });
  glyphArrays.forEach((g, i) => b.writeUInt16BE(g, 16 + n * 8 + i * 2));
  return b;
}

function format12(groups: Array<[number, number, number]>): Buffer {
  const b = Buffer.alloc(16 + groups.length * 12);
  b.writeUInt16BE(12, 0);
  b.writeUInt32BE(b.length, 4);
  b.writeUInt32BE(groups.length, 12);
  groups.forEach(([s, e, g], i) => {
    b.writeUInt32BE(s, 16 + i * 12);
    b.writeUInt32BE(e, 20 + i * 12);
    b.writeUInt32BE(g, 24 + i * 12);
  });
  return b;
}

describe('cmap reader', () => {
  it('reads format 4 (delta and glyph-array segments, glyph 0 = not covered)', () => {
    const font = sfntWithCmap([
      {
        encoding: 1,
        bytes: format4([
          { start: 0x41, end: 0x43, delta: 10 }, // A-C
          { start: 0x61, end: 0x64, glyphs: [5, 0, 7, 8] }, // a, c, d (b maps to .notdef)
          { start: 0x4e00, end: 0x4e00, delta: -0x4e00 }, // maps to glyph 0: not covered
        ]),
      },
    ]);
    const { coverage } = parseFont(font);
    expect([0x41, 0x42, 0x43, 0x61, 0x63, 0x64].every((c) => coverage.has(c))).toBe(true);
    expect([0x40, 0x44, 0x62, 0x4e00, 0xffff].some((c) => coverage.has(c))).toBe(false);
    expect(coverage.size).toBe(6);
  });

  it('prefers format 12 for code points beyond the BMP', () => {
    const font = sfntWithCmap([
      { encoding: 1, bytes: format4([{ start: 0x41, end: 0x41, delta: 1 }]) },
      {
        encoding: 10,
        bytes: format12([
          [0x41, 0x5a, 1],
          [0x20000, 0x20010, 100],
          [0x30, 0x39, 0],
        ]),
      },
    ]);
    const { coverage } = parseFont(font);
    expect(coverage.has(0x5a)).toBe(true);
    expect(coverage.has(0x20005)).toBe(true);
    expect(coverage.has(0x30)).toBe(false); // first of a group mapped to glyph 0
    expect(coverage.has(0x31)).toBe(true);
    expect(coverage.size).toBe(26 + 17 + 9);
  });

  it('refuses what is not a font, a collection, a truncated table directory, no cmap', () => {
    expect(() => parseFont(Buffer.from('this is not a font at all'))).toThrow(FontParseError);
    expect(() => parseFont(Buffer.from('ttcf\0\x01\0\0\0\0\0\x01', 'latin1'))).toThrow(/collections/);
    const font = sfntWithCmap([{ encoding: 1, bytes: format4([]) }]);
    expect(() => parseFont(font.subarray(0, 30))).toThrow(FontParseError);
    const noCmap = Buffer.from(font);
    noCmap.write('xxxx', 12, 'latin1');
    expect(() => parseFont(noCmap)).toThrow(/cmap/);
  });

  it('reads the bundled font: CJK, Latin, the middle dot; no emoji', () => {
    const { coverage, capHeight } = parseFont(readFileSync(defaultFontPath()));
    for (const ch of '张伟王小明·ABCxyzéüō0123-') expect(coverage.has(ch.codePointAt(0)!), ch).toBe(true);
    expect(coverage.has(0x1f600)).toBe(false);
    expect(capHeight).toBeGreaterThan(0.6);
    expect(capHeight).toBeLessThan(0.8);
  });
});
