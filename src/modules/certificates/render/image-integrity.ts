import zlib from 'node:zlib';
import { ImageRejected } from './errors.js';
import { probeImage } from './image-probe.js';
import { checkJpegScans } from './jpeg-scan.js';

const crc32 = (d: Uint8Array) => zlib.crc32(d) >>> 0;
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ADAM7: Array<[number, number, number, number]> = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/**
 * Full integrity check of an uploaded template, beyond probeImage's header check (Skia decodes
 * a damaged file without complaint, drawing grey or garbage where the data is bad):
 * PNG: every chunk's CRC up to IEND, then the image data inflated (zlib checks its Adler-32)
 * to exactly the size the header promises, streamed so nothing large is allocated.
 * JPEG: the entropy-coded data walked block by block to the end marker (jpeg-scan.ts), so a
 * header with no scan data, or data cut and an end marker appended, is refused. Throws ImageRejected.
 */
export async function checkImageIntegrity(buf: Buffer): Promise<void> {
  const info = probeImage(buf);
  if (info.type === 'jpeg') return checkJpegScans(buf);
  const idat: Buffer[] = [];
  let ended = false;
  for (let o = 8; o < buf.length && !ended;) {
    if (o + 12 > buf.length) throw new ImageRejected('truncated', 'The PNG template is truncated.');
    const len = buf.readUInt32BE(o);
    if (len > buf.length - o - 12) throw new ImageRejected('truncated', 'The PNG template is truncated.');
    const type = buf.toString('latin1', o + 4, o + 8);
    if (crc32(buf.subarray(o + 4, o + 8 + len)) !== buf.readUInt32BE(o + 8 + len)) {
      throw new ImageRejected(
        'corrupt',
        `The PNG template is damaged (checksum error in its ${type.replace(/[^\x20-\x7e]/g, '?')} chunk).`,
      );
    }
    if (type === 'IDAT') idat.push(buf.subarray(o + 8, o + 8 + len));
    if (type === 'IEND') ended = true;
    o += 12 + len;
  }
  if (!ended) throw new ImageRejected('truncated', 'The PNG template is truncated (no end marker).');
  if (!idat.length) throw new ImageRejected('corrupt', 'The PNG template has no image data.');
  const depth = buf[24];
  const channels = CHANNELS[buf[25]];
  const interlaced = buf[28] === 1;
  const rowBytes = (w: number) => 1 + Math.ceil((w * channels * depth) / 8);
  let expected = 0;
  if (!interlaced) expected = info.height * rowBytes(info.width);
  else {
    for (const [xs, ys, dx, dy] of ADAM7) {
      const pw = Math.ceil((info.width - xs) / dx);
      const ph = Math.ceil((info.height - ys) / dy);
      if (pw > 0 && ph > 0) expected += ph * rowBytes(pw);
    }
  }
  const got = await inflatedLength(idat, expected);
  if (got !== expected)
    throw new ImageRejected(
      got < expected ? 'truncated' : 'corrupt',
      'The PNG template is damaged (its image data does not match its size).',
    );
}

/** Inflates the chunks, counting (not keeping) the output; stops early past `limit`. */
function inflatedLength(chunks: Buffer[], limit: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const inflate = zlib.createInflate();
    let total = 0;
    inflate.on('data', (d: Buffer) => {
      total += d.length;
      if (total > limit) {
        inflate.destroy();
        resolve(total);
      }
    });
    inflate.on('end', () => resolve(total));
    inflate.on('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'Z_BUF_ERROR'
          ? new ImageRejected('truncated', 'The PNG template is truncated (its image data stops early).')
          : new ImageRejected('corrupt', 'The PNG template is damaged (its compressed image data is invalid).'),
      );
    });
    for (const c of chunks) inflate.write(c);
    inflate.end();
  });
}
