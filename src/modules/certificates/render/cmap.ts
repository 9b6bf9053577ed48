/**
 * A tiny OpenType/TrueType reader: just enough to know which code points a font can draw
 * (cmap formats 4, 12 and 13) and its vertical metrics (head unitsPerEm, OS/2 cap height).
 * Used to refuse names the font cannot draw instead of drawing empty boxes ("tofu").
 */

/** Sorted, non-overlapping inclusive ranges of code points, as a flat [start0, end0, start1, end1, ...]. */
export class CodePointSet {
  private constructor(private readonly ranges: Uint32Array) {}

  /** Builds from unsorted possibly overlapping inclusive ranges. */
  static fromRanges(input: Array<[number, number]>): CodePointSet {
    const sorted = input.filter(([a, b]) => a <= b).sort((p, q) => p[0] - q[0]);
    const out: number[] = [];
    for (const [a, b] of sorted) {
      const n = out.length;
      if (n && a <= out[n - 1] + 1) out[n - 1] = Math.max(out[n - 1], b);
      else out.push(a, b);
    }
    return new CodePointSet(Uint32Array.from(out));
  }

  /** True if the code point is in the set (binary search over the ranges). */
  has(cp: number): boolean {
    const r = this.ranges;
    let lo = 0;
    let hi = r.length / 2 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (cp < r[mid * 2]) hi = mid - 1;
      else if (cp > r[mid * 2 + 1]) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** Number of code points covered. */
  get size(): number {
    let n = 0;
    for (let i = 0; i < this.ranges.length; i += 2) n += this.ranges[i + 1] - this.ranges[i] + 1;
    return n;
  }
}

export interface FontInfo {
  coverage: CodePointSet;
  unitsPerEm: number;
  /** Cap height as a fraction of the em (for centring text vertically). */
  capHeight: number;
  /** Line ascent and descent (hhea), as positive fractions of the em: the text's vertical extent. */
  ascent: number;
  descent: number;
}

/** Thrown for bytes that are not a font we can read. */
export class FontParseError extends Error {}

const SFNT_VERSIONS = new Set([0x00010000, 0x4f54544f /* OTTO */, 0x74727565 /* true */]);

/** Parses a TTF/OTF (not a collection) far enough to know its coverage and metrics. */
export function parseFont(buf: Uint8Array): FontInfo {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const need = (off: number, len: number) => {
    if (off < 0 || len < 0 || off + len > buf.byteLength) throw new FontParseError('The font file is truncated or corrupt.');
  };
  need(0, 12);
  const version = view.getUint32(0);
  if (version === 0x74746366 /* ttcf */)
    throw new FontParseError('Font collections (.ttc) are not supported; upload a single TTF or OTF font.');
  if (!SFNT_VERSIONS.has(version)) throw new FontParseError('The file is not a TrueType or OpenType font.');
  const numTables = view.getUint16(4);
  need(12, numTables * 16);
  const tables = new Map<string, { offset: number; length: number }>();
  for (let i = 0; i < numTables; i++) {
    const rec = 12 + i * 16;
    const tag = String.fromCharCode(buf[rec], buf[rec + 1], buf[rec + 2], buf[rec + 3]);
    const offset = view.getUint32(rec + 8);
    const length = view.getUint32(rec + 12);
    need(offset, length);
    tables.set(tag, { offset, length });
  }
  const cmap = tables.get('cmap');
  if (!cmap) throw new FontParseError('The font has no character map (cmap table).');
  const coverage = parseCmap(view, cmap.offset, cmap.offset + cmap.length);

  let unitsPerEm = 1000;
  const head = tables.get('head');
  if (head && head.length >= 20) unitsPerEm = view.getUint16(head.offset + 18) || 1000;
  let capHeight = 0.7;
  const os2 = tables.get('OS/2');
  if (os2 && os2.length >= 90 && view.getUint16(os2.offset) >= 2) {
    const cap = view.getInt16(os2.offset + 88);
    if (cap > 0 && cap < unitsPerEm * 2) capHeight = cap / unitsPerEm;
  }
  let ascent = 0.9;
  let descent = 0.25;
  const hhea = tables.get('hhea');
  if (hhea && hhea.length >= 10) {
    const asc = view.getInt16(hhea.offset + 4) / unitsPerEm;
    const desc = -view.getInt16(hhea.offset + 6) / unitsPerEm;
    if (asc > 0 && asc < 4) ascent = asc;
    if (desc >= 0 && desc < 4) descent = desc;
  }
  return { coverage, unitsPerEm, capHeight, ascent, descent };
}

function parseCmap(view: DataView, start: number, end: number): CodePointSet {
  const need = (off: number, len: number) => {
    if (off < start || off + len > end) throw new FontParseError("The font's character map is corrupt.");
  };
  need(start, 4);
  const n = view.getUint16(start + 2);
  need(start + 4, n * 8);
  // Prefer a full-Unicode subtable (format 12/13), then a BMP one (format 4).
  const candidates: Array<{ rank: number; offset: number }> = [];
  for (let i = 0; i < n; i++) {
    const rec = start + 4 + i * 8;
    const platform = view.getUint16(rec);
    const encoding = view.getUint16(rec + 2);
    const offset = start + view.getUint32(rec + 4);
    const unicode = platform === 0 || (platform === 3 && (encoding === 1 || encoding === 10));
    if (!unicode || offset + 2 > end) continue;
    const format = view.getUint16(offset);
    if (format === 12 || format === 13) candidates.push({ rank: 0, offset });
    else if (format === 4) candidates.push({ rank: 1, offset });
  }
  if (!candidates.length) throw new FontParseError('The font has no Unicode character map (format 4 or 12).');
  candidates.sort((a, b) => a.rank - b.rank);
  const off = candidates[0].offset;
  const format = view.getUint16(off);
  return format === 4 ? parseFormat4(view, off, need) : parseFormat12(view, off, format, need);
}

function parseFormat4(view: DataView, off: number, need: (o: number, l: number) => void): CodePointSet {
  need(off, 14);
  const segCount = view.getUint16(off + 6) >> 1;
  const endCodes = off + 14;
  const startCodes = endCodes + segCount * 2 + 2;
  const idDeltas = startCodes + segCount * 2;
  const idRangeOffsets = idDeltas + segCount * 2;
  need(endCodes, segCount * 8 + 2);
  const ranges: Array<[number, number]> = [];
  for (let s = 0; s < segCount; s++) {
    const endCode = view.getUint16(endCodes + s * 2);
    const startCode = view.getUint16(startCodes + s * 2);
    const delta = view.getUint16(idDeltas + s * 2);
    const rangeOffsetPos = idRangeOffsets + s * 2;
    const rangeOffset = view.getUint16(rangeOffsetPos);
    let runStart = -1;
    for (let c = startCode; c <= endCode && c !== 0xffff; c++) {
      let glyph: number;
      if (rangeOffset === 0) glyph = (c + delta) & 0xffff;
      else {
        const addr = rangeOffsetPos + rangeOffset + (c - startCode) * 2;
        need(addr, 2);
        const g = view.getUint16(addr);
        glyph = g === 0 ? 0 : (g + delta) & 0xffff;
      }
      if (glyph !== 0) {
        if (runStart < 0) runStart = c;
      } else if (runStart >= 0) {
        ranges.push([runStart, c - 1]);
        runStart = -1;
      }
      if (c === endCode) break;
    }
    if (runStart >= 0) ranges.push([runStart, Math.min(endCode, 0xfffe)]);
  }
  return CodePointSet.fromRanges(ranges);
}

function parseFormat12(view: DataView, off: number, format: number, need: (o: number, l: number) => void): CodePointSet {
  need(off, 16);
  const nGroups = view.getUint32(off + 12);
  need(off + 16, nGroups * 12);
  const ranges: Array<[number, number]> = [];
  for (let i = 0; i < nGroups; i++) {
    const g = off + 16 + i * 12;
    let startChar = view.getUint32(g);
    const endChar = Math.min(view.getUint32(g + 4), 0x10ffff);
    const startGlyph = view.getUint32(g + 8);
    if (startGlyph === 0) {
      // Format 13 maps the whole range to one glyph; 0 means "nothing". Format 12 maps the first
      // code point to glyph 0 (.notdef) and the rest to real glyphs.
      if (format === 13) continue;
      startChar += 1;
    }
    if (startChar <= endChar) ranges.push([startChar, endChar]);
  }
  return CodePointSet.fromRanges(ranges);
}
