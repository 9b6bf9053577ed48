import { promisify } from 'node:util';
import os from 'node:os';
import zlib from 'node:zlib';
import { skia } from './canvas.js';
import type { TemplateEntry } from './types.js';

/*
 * Incremental PNG encoding. Encoding a whole 750x1200 certificate with Skia's PNG encoder takes
 * 60-250 ms on this class of machine, far over the claim budget. But a certificate is the
 * template plus a few lines of text: only a few horizontal bands of rows change. So the
 * template's rows are filtered and deflated ONCE, in bands of BAND_ROWS rows, each band an
 * independent byte-aligned run of deflate blocks (its own compressor, ended by a full flush);
 * a render re-filters and re-deflates only the bands a field touched and splices the bytes
 * together, combining the bands' Adler-32 checksums. Each band is its own IDAT chunk, so
 * cached chunks (with their CRCs) are reused as they are.
 *
 * Filters never look across a band boundary (a band's first row uses None/Sub only), so a band
 * is encoded the same whatever happens to its neighbours: the output is a pure function of the
 * pixels and is byte-identical whether the template cache was warm or cold.
 */
const BAND_ROWS = 16;
/** Template bands are deflated once: spend effort for smaller files (level 5 is within a few
 * percent of 6 in size on certificate templates, at a third of the time). */
const TEMPLATE_LEVEL = 5;
/** Bands touched by a render are deflated on every render: spend little. */
const DIRTY_LEVEL = 1;
const deflateRaw = promisify(zlib.deflateRaw);

/** One band's encoded form. */
interface EncodedBand {
  /** The complete IDAT chunk (length, type, data, CRC). */
  chunk: Buffer;
  /** Adler-32 and length of the band's filtered (uncompressed) bytes. */
  adler: number;
  rawLength: number;
}

interface EncoderState {
  bands: EncodedBand[];
}

/** The zlib stream of the image split as IDAT chunks, plus what a PDF needs. */
export interface EncodedRaster {
  width: number;
  height: number;
  /** Chunks to write between IHDR and IEND (each a complete IDAT chunk). */
  idat: Buffer[];
}

/** RGBA bytes, 4 a pixel, row after row (a canvas's `data()` or an ImageData's `data`). */
export type Pixels = Uint8Array | Uint8ClampedArray;

/** A run of whole bands [top, top + rows) that fields drew on, with its RGBA pixels. */
export interface DirtyRun {
  top: number;
  rows: number;
  rgba: Pixels;
}

/**
 * Merges the row ranges fields may touch into runs of whole bands (contiguous dirty bands
 * become one run: one canvas, one pixel read, one deflate call).
 */
export function dirtyRuns(boxes: ReadonlyArray<{ top: number; bottom: number }>, height: number): Array<{ top: number; rows: number }> {
  const nBands = Math.ceil(height / BAND_ROWS);
  const dirty = new Uint8Array(nBands);
  for (const b of boxes) {
    for (let i = Math.max(0, Math.floor(b.top / BAND_ROWS)); i < nBands && i * BAND_ROWS < b.bottom; i++) dirty[i] = 1;
  }
  const runs: Array<{ top: number; rows: number }> = [];
  for (let i = 0; i < nBands;) {
    if (!dirty[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < nBands && dirty[j]) j++;
    runs.push({ top: i * BAND_ROWS, rows: Math.min(j * BAND_ROWS, height) - i * BAND_ROWS });
    i = j;
  }
  return runs;
}

/**
 * The image as a zlib stream of PNG-filtered RGB rows split into IDAT chunks: the template's
 * cached bands, with the given runs (band-aligned, from dirtyRuns) re-encoded.
 */
export async function encodeRaster(tpl: TemplateEntry, runs: DirtyRun[]): Promise<EncodedRaster> {
  const state = await templateState(tpl);
  const fresh = await Promise.all(runs.map((r) => encodeRun(r.rgba, tpl.width, r.rows)));
  const parts: EncodedBand[] = [];
  let band = 0;
  runs.forEach((r, k) => {
    if (r.top % BAND_ROWS !== 0) throw new Error('dirty runs must start on a band boundary');
    for (; band * BAND_ROWS < r.top; band++) parts.push(state.bands[band]);
    parts.push(fresh[k]);
    band = Math.ceil((r.top + r.rows) / BAND_ROWS);
  });
  for (; band < state.bands.length; band++) parts.push(state.bands[band]);
  return { width: tpl.width, height: tpl.height, idat: frameZlib(parts) };
}

/** Starts (or joins) the one-time encoding of a template's bands. */
export function prepareEncoding(tpl: TemplateEntry): Promise<unknown> {
  return templateState(tpl);
}

/** Template bands are computed on first use and kept with the decoded template. */
function templateState(tpl: TemplateEntry): Promise<EncoderState> {
  if (!tpl.encoderState) {
    tpl.encoderState = (async () => {
      // Paint in slices of 16 bands so a large template never needs a second full-size canvas.
      const slice = BAND_ROWS * 16;
      const canvas = skia().createCanvas(tpl.width, Math.min(slice, tpl.height));
      const ctx = canvas.getContext('2d');
      const jobs: Array<Promise<EncodedBand>> = [];
      for (let sliceTop = 0; sliceTop < tpl.height; sliceTop += slice) {
        // Filtering is JavaScript on the main thread: yield between slices so a large template
        // never stalls other requests for long.
        if (sliceTop) await new Promise((r) => setImmediate(r));
        const sliceRows = Math.min(slice, tpl.height - sliceTop);
        tpl.paint(ctx, sliceTop, sliceRows);
        for (let top = 0; top < sliceRows; top += BAND_ROWS) {
          const rows = Math.min(BAND_ROWS, sliceRows - top);
          jobs.push(encodeBand(ctx.getImageData(0, top, tpl.width, rows).data, tpl.width, rows, TEMPLATE_LEVEL));
        }
      }
      return { bands: await Promise.all(jobs) };
    })();
  }
  return tpl.encoderState as Promise<EncoderState>;
}

/** A run of dirty bands: a fast fixed filter choice (Sub on each band's first row, Up below). */
async function encodeRun(rgba: Pixels, width: number, rows: number): Promise<EncodedBand> {
  const { raw, adler } = filterRowsFast(rgba, width, rows);
  const data = deflateDirty(raw);
  return { chunk: chunk('IDAT', data), adler, rawLength: raw.length };
}

/**
 * A dirty run's deflate, on the calling thread. At level 1 a run of a few dozen mostly-flat rows
 * takes ~0.15 ms; the thread-pool version (`zlib.deflateRaw`) cost twice the CPU in all, most of
 * it on the event loop (a zlib stream made and torn down per call: the profile's `write` under
 * `zlibBuffer`, 4% of a claim), and a hop to the pool and back. Same zlib, same options: the
 * same bytes (png-encode.test.ts).
 */
export function deflateDirty(raw: Buffer): Buffer {
  return zlib.deflateRawSync(raw, { level: DIRTY_LEVEL, finishFlush: zlib.constants.Z_FULL_FLUSH });
}

/** The RGB bytes of an RGBA pixel read as one little- or big-endian 32-bit word. */
const RGB_MASK = os.endianness() === 'LE' ? 0x00ffffff : 0xffffff00;

/**
 * RGBA -> RGB rows, filter Sub on the first row of each band (no look across bands), Up
 * elsewhere, with the Adler-32 of the result computed in the same pass. Most pixels of a dirty
 * band are the template's and equal to the pixel above: compared as one 32-bit word, they leave
 * the zeroed output as it is and add 3 zero bytes to the checksum in one step (b += 3a).
 */
export function filterRowsFast(rgba: Pixels, width: number, rows: number): { raw: Buffer; adler: number } {
  const stride = width * 3;
  const out = Buffer.alloc((stride + 1) * rows);
  const px =
    rgba.byteOffset % 4 === 0 ? new Uint32Array(rgba.buffer, rgba.byteOffset, width * rows) : new Uint32Array(new Uint8Array(rgba).buffer);
  // Sums stay exact in doubles far past one row (2^53), so they are reduced once per row.
  let a = 1;
  let b = 0;
  for (let r = 0; r < rows; r++) {
    let o = r * (stride + 1);
    let p = r * width * 4;
    if (r % BAND_ROWS === 0) {
      out[o++] = 1;
      a += 1;
      b += a;
      for (let x = 0; x < width; x++, p += 4) {
        const d0 = x ? (rgba[p] - rgba[p - 4]) & 0xff : rgba[p];
        const d1 = x ? (rgba[p + 1] - rgba[p - 3]) & 0xff : rgba[p + 1];
        const d2 = x ? (rgba[p + 2] - rgba[p - 2]) & 0xff : rgba[p + 2];
        out[o++] = d0;
        out[o++] = d1;
        out[o++] = d2;
        a += d0;
        b += a;
        a += d1;
        b += a;
        a += d2;
        b += a;
      }
    } else {
      out[o++] = 2;
      a += 2;
      b += a;
      const rowBytes = width * 4;
      for (let x = 0, i = r * width; x < width; x++, i++, p += 4, o += 3) {
        if (((px[i] ^ px[i - width]) & RGB_MASK) === 0) {
          b += 3 * a;
          continue;
        }
        const q = p - rowBytes;
        const d0 = (rgba[p] - rgba[q]) & 0xff;
        const d1 = (rgba[p + 1] - rgba[q + 1]) & 0xff;
        const d2 = (rgba[p + 2] - rgba[q + 2]) & 0xff;
        out[o] = d0;
        out[o + 1] = d1;
        out[o + 2] = d2;
        a += d0;
        b += a;
        a += d1;
        b += a;
        a += d2;
        b += a;
      }
    }
    a %= ADLER_BASE;
    b %= ADLER_BASE;
  }
  return { raw: out, adler: ((b << 16) | a) >>> 0 };
}

async function encodeBand(rgba: Uint8ClampedArray, width: number, rows: number, level: number): Promise<EncodedBand> {
  const raw = filterRows(rgba, width, rows);
  const data = await deflateRaw(raw, { level, finishFlush: zlib.constants.Z_FULL_FLUSH });
  return { chunk: chunk('IDAT', data), adler: adler32(raw), rawLength: raw.length };
}

/**
 * RGBA rows -> PNG-filtered RGB rows. Per row, picks the filter (None, Sub, Up, Paeth) with the
 * smallest sum of absolute values (the libpng heuristic); the band's first row may not use
 * the row above (it belongs to another band), so it picks between None and Sub.
 * Used once per template, so it favours size over speed.
 */
export function filterRows(rgba: Uint8ClampedArray, width: number, rows: number): Buffer {
  const stride = width * 3;
  const out = Buffer.allocUnsafe((stride + 1) * rows);
  let cur = new Uint8Array(stride);
  let prev = new Uint8Array(stride);
  const sub = new Uint8Array(stride);
  const up = new Uint8Array(stride);
  const pa = new Uint8Array(stride);
  for (let r = 0; r < rows; r++) {
    for (let x = 0, i = 0, p = r * width * 4; x < width; x++, p += 4) {
      cur[i++] = rgba[p];
      cur[i++] = rgba[p + 1];
      cur[i++] = rgba[p + 2];
    }
    let sNone = 0;
    let sSub = 0;
    let sUp = 0;
    let sPaeth = 0;
    const first = r === 0;
    for (let i = 0; i < stride; i++) {
      const v = cur[i];
      const a = i >= 3 ? cur[i - 3] : 0;
      const n1 = (v - a) & 0xff;
      sub[i] = n1;
      sNone += v < 128 ? v : 256 - v;
      sSub += n1 < 128 ? n1 : 256 - n1;
      if (first) continue;
      const b = prev[i];
      const c = i >= 3 ? prev[i - 3] : 0;
      const n2 = (v - b) & 0xff;
      // Paeth predictor, inlined: the neighbour closest to a + b - c.
      const pA = b > c ? b - c : c - b;
      const pB = a > c ? a - c : c - a;
      const pC = a + b - c - c > 0 ? a + b - c - c : c + c - a - b;
      const n3 = (v - (pA <= pB && pA <= pC ? a : pB <= pC ? b : c)) & 0xff;
      up[i] = n2;
      pa[i] = n3;
      sUp += n2 < 128 ? n2 : 256 - n2;
      sPaeth += n3 < 128 ? n3 : 256 - n3;
    }
    let type = 0;
    let best = sNone;
    let bytes: Uint8Array = cur;
    if (sSub < best) [type, best, bytes] = [1, sSub, sub];
    if (!first && sUp < best) [type, best, bytes] = [2, sUp, up];
    if (!first && sPaeth < best) [type, bytes] = [4, pa];
    const o = r * (stride + 1);
    out[o] = type;
    out.set(bytes, o + 1);
    [cur, prev] = [prev, cur];
  }
  return out;
}

/** zlib header + bands + an empty final block + the combined Adler-32, as IDAT chunks. */
function frameZlib(parts: EncodedBand[]): Buffer[] {
  let adler = 1;
  for (const p of parts) adler = adler32Combine(adler, p.adler, p.rawLength);
  const tail = Buffer.alloc(6);
  tail[0] = 0x03; // BFINAL=1, fixed Huffman, end-of-block: an empty final block
  tail[1] = 0x00;
  tail.writeUInt32BE(adler >>> 0, 2);
  return [chunk('IDAT', Buffer.from([0x78, 0x9c])), ...parts.map((p) => p.chunk), chunk('IDAT', tail)];
}

/** The data of the zlib stream inside IDAT chunks (for the PDF writer). */
export function zlibStream(idat: Buffer[]): Buffer {
  return Buffer.concat(idat.map((c) => c.subarray(8, c.length - 4)));
}

/** Writes a PNG file: signature, IHDR (8-bit RGB), the IDAT chunks, IEND. */
export function assemblePng(r: EncodedRaster): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(r.width, 0);
  ihdr.writeUInt32BE(r.height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), ...r.idat, chunk('IEND', Buffer.alloc(0))]);
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(zlib.crc32(out.subarray(4, 8 + data.length)) >>> 0, 8 + data.length);
  return out;
}

const ADLER_BASE = 65521;

/** Adler-32 of `data` (zlib's checksum). */
export function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  let i = 0;
  while (i < data.length) {
    const end = Math.min(i + 5552, data.length); // largest run without overflowing 32 bits
    for (; i < end; i++) {
      a += data[i];
      b += a;
    }
    a %= ADLER_BASE;
    b %= ADLER_BASE;
  }
  return ((b << 16) | a) >>> 0;
}

/** adler32(A ++ B) from adler32(A), adler32(B) and B's length (zlib's adler32_combine). */
export function adler32Combine(adler1: number, adler2: number, len2: number): number {
  const rem = len2 % ADLER_BASE;
  let sum1 = adler1 & 0xffff;
  let sum2 = (rem * sum1) % ADLER_BASE;
  sum1 += (adler2 & 0xffff) + ADLER_BASE - 1;
  sum2 += ((adler1 >>> 16) & 0xffff) + ((adler2 >>> 16) & 0xffff) + ADLER_BASE - rem;
  if (sum1 >= ADLER_BASE) sum1 -= ADLER_BASE;
  if (sum1 >= ADLER_BASE) sum1 -= ADLER_BASE;
  if (sum2 >= ADLER_BASE * 2) sum2 -= ADLER_BASE * 2;
  if (sum2 >= ADLER_BASE) sum2 -= ADLER_BASE;
  return ((sum2 << 16) | sum1) >>> 0;
}
