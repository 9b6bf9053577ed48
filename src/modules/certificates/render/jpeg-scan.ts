/**
 * Walks a JPEG's entropy-coded data to prove it holds every block its header promises (issue 10
 * item 11). Skia "decodes" a JPEG whose scan data is missing or cut without complaint, painting
 * grey, so a 6000x6000 header with no data was accepted and every render then drew grey for
 * seconds. This reader does the Huffman part of a decode (no IDCT, no colour, nothing allocated
 * per pixel): baseline and extended sequential files are walked block by block, restart markers
 * included; progressive ones (whose scans refine each other) must carry at least the bits their
 * first DC scan needs, one per block. It yields to the event loop every ~20 ms, so a 40-megapixel
 * file never holds it.
 */
import { ImageRejected } from './errors.js';

interface Component {
  id: number;
  h: number;
  v: number;
}

interface Huffman {
  maxcode: Int32Array;
  valptr: Int32Array;
  mincode: Int32Array;
  values: Uint8Array;
}

const truncated = () => new ImageRejected('truncated', 'The JPEG image is truncated: its image data stops before the last block.');
const corrupt = (why: string) => new ImageRejected('corrupt', `The JPEG image is damaged (${why}).`);

function buildHuffman(counts: Uint8Array, values: Uint8Array): Huffman {
  const maxcode = new Int32Array(18).fill(-1);
  const valptr = new Int32Array(17);
  const mincode = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    valptr[len] = k;
    mincode[len] = code;
    code += counts[len - 1];
    k += counts[len - 1];
    maxcode[len] = counts[len - 1] ? code - 1 : -1;
    code <<= 1;
  }
  return { maxcode, valptr, mincode, values };
}

class BitReader {
  bits = 0;
  nbits = 0;
  constructor(
    readonly b: Buffer,
    public i: number,
  ) {}
  /** One bit; throws `truncated` at a marker or the end of the file. */
  bit(): number {
    if (this.nbits === 0) {
      if (this.i >= this.b.length) throw truncated();
      const byte = this.b[this.i];
      if (byte === 0xff) {
        const next = this.b[this.i + 1];
        if (next !== 0x00) throw truncated(); // a marker inside the data: it ended early
        this.i += 2;
      } else this.i += 1;
      this.bits = byte;
      this.nbits = 8;
    }
    this.nbits--;
    return (this.bits >> this.nbits) & 1;
  }
  receive(n: number): void {
    for (let j = 0; j < n; j++) this.bit();
  }
  decode(h: Huffman): number {
    let code = 0;
    for (let len = 1; len <= 16; len++) {
      code = (code << 1) | this.bit();
      if (h.maxcode[len] >= 0 && code <= h.maxcode[len] && code >= h.mincode[len]) return h.values[h.valptr[len] + code - h.mincode[len]];
    }
    throw corrupt('a Huffman code matches no table entry');
  }
  /** After a restart interval: drop the partial byte and expect RSTn. */
  restart(): void {
    this.nbits = 0;
    if (this.b[this.i] !== 0xff || (this.b[this.i + 1] & 0xf8) !== 0xd0) throw truncated();
    this.i += 2;
  }
}

/** Throws ImageRejected unless the JPEG's scans hold every block of every component. */
export async function checkJpegScans(b: Buffer): Promise<void> {
  const dc = new Map<number, Huffman>();
  const ac = new Map<number, Huffman>();
  let comps: Component[] = [];
  let width = 0;
  let height = 0;
  let progressive = false;
  let restartInterval = 0;
  let scanned = new Set<number>();
  let progressiveBytes = 0;
  let sawEoi = false;
  let i = 2;
  let lastYield = Date.now();
  while (i < b.length) {
    if (b[i] !== 0xff) throw corrupt('a segment does not start with a marker');
    const m = b[i + 1];
    if (m === 0xff) {
      i++;
      continue;
    }
    if (m === 0xd9) {
      sawEoi = true;
      break;
    }
    if (i + 4 > b.length) throw truncated();
    const len = b.readUInt16BE(i + 2);
    const seg = i + 4;
    const end = i + 2 + len;
    if (len < 2 || end > b.length) throw truncated();
    if (m === 0xc4) {
      for (let p = seg; p < end;) {
        const tc = b[p] >> 4;
        const th = b[p] & 15;
        const counts = b.subarray(p + 1, p + 17);
        let total = 0;
        for (const c of counts) total += c;
        if (p + 17 + total > end) throw corrupt('a Huffman table is cut');
        (tc === 0 ? dc : ac).set(th, buildHuffman(counts, b.subarray(p + 17, p + 17 + total)));
        p += 17 + total;
      }
    } else if (m === 0xdd) {
      restartInterval = b.readUInt16BE(seg);
    } else if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (m !== 0xc0 && m !== 0xc1 && m !== 0xc2)
        throw new ImageRejected(
          'not_image',
          'This JPEG coding (lossless, hierarchical or arithmetic) is not supported; save the template as an ordinary JPEG or PNG.',
        );
      progressive = m === 0xc2;
      height = b.readUInt16BE(seg + 1);
      width = b.readUInt16BE(seg + 3);
      const n = b[seg + 5];
      comps = [];
      for (let k = 0; k < n; k++) comps.push({ id: b[seg + 6 + k * 3], h: b[seg + 7 + k * 3] >> 4, v: b[seg + 7 + k * 3] & 15 });
      if (!comps.length || comps.some((c) => c.h < 1 || c.v < 1 || c.h > 4 || c.v > 4)) throw corrupt('its frame header is invalid');
      scanned = new Set();
    } else if (m === 0xda) {
      if (!comps.length) throw corrupt('scan data before the frame header');
      const ns = b[seg];
      const inScan: Array<{ c: Component; dc?: Huffman; ac?: Huffman }> = [];
      for (let k = 0; k < ns; k++) {
        const c = comps.find((x) => x.id === b[seg + 1 + k * 2]);
        if (!c) throw corrupt('a scan names an unknown component');
        const t = b[seg + 2 + k * 2];
        inScan.push({ c, dc: dc.get(t >> 4), ac: ac.get(t & 15) });
      }
      const r = new BitReader(b, end);
      if (progressive) {
        // Count this scan's bytes up to the next marker; refinement scans are not walked.
        let p = end;
        while (p < b.length && !(b[p] === 0xff && b[p + 1] !== 0 && (b[p + 1] & 0xf8) !== 0xd0)) p++;
        progressiveBytes += p - end;
        i = p;
        continue;
      }
      const hmax = Math.max(...comps.map((c) => c.h));
      const vmax = Math.max(...comps.map((c) => c.v));
      for (const s of inScan) if (!s.dc || !s.ac) throw corrupt('a scan uses a Huffman table that is not defined');
      let units: number;
      let blocksPer: (s: (typeof inScan)[number]) => number;
      if (inScan.length === 1) {
        const c = inScan[0].c;
        units = Math.ceil(Math.ceil((width * c.h) / hmax) / 8) * Math.ceil(Math.ceil((height * c.v) / vmax) / 8);
        blocksPer = () => 1;
      } else {
        units = Math.ceil(width / (8 * hmax)) * Math.ceil(height / (8 * vmax));
        blocksPer = (s) => s.c.h * s.c.v;
      }
      for (let u = 0; u < units; u++) {
        if (restartInterval && u > 0 && u % restartInterval === 0) r.restart();
        for (const s of inScan) {
          for (let n = blocksPer(s); n > 0; n--) {
            const t = r.decode(s.dc!);
            if (t > 16) throw corrupt('a DC value is out of range');
            r.receive(t);
            for (let k = 1; k < 64;) {
              const rs = r.decode(s.ac!);
              const run = rs >> 4;
              const size = rs & 15;
              if (size === 0) {
                if (run !== 15) break;
                k += 16;
              } else {
                k += run;
                r.receive(size);
                k++;
              }
              if (k > 64) throw corrupt('a block has more than 64 coefficients');
            }
          }
        }
        if ((u & 63) === 0 && Date.now() - lastYield > 20) {
          await new Promise((res) => setImmediate(res));
          lastYield = Date.now();
        }
      }
      for (const s of inScan) scanned.add(s.c.id);
      // Skip what is left of the scan (padding bits, a final RST) to the next marker.
      let p = r.i;
      while (p < b.length && !(b[p] === 0xff && b[p + 1] !== 0 && (b[p + 1] & 0xf8) !== 0xd0)) p++;
      i = p;
      continue;
    }
    i = end;
  }
  if (!sawEoi) throw truncated();
  if (!comps.length) throw corrupt('it has no frame header');
  if (progressive) {
    let blocks = 0;
    for (const c of comps)
      blocks +=
        Math.ceil(Math.ceil((width * c.h) / Math.max(...comps.map((x) => x.h))) / 8) *
        Math.ceil(Math.ceil((height * c.v) / Math.max(...comps.map((x) => x.v))) / 8);
    if (progressiveBytes * 8 < blocks) throw truncated();
    return;
  }
  if (scanned.size < comps.length) throw truncated();
}
