import { createRequire } from 'node:module';
import type QRCode from 'qrcode';
import type { SKRSContext2D } from '@napi-rs/canvas';
import { RenderRefused } from './errors.js';

/** Quiet zone around the code, in modules (the spec asks for 4; 2 reads fine on a white pad). */
const QUIET_MODULES = 2;
const cache = new Map<string, { size: number; data: Uint8Array }>();
/** qrcode, loaded by the first certificate that carries a code (not at start: issue 15, idle memory). */
let qrcode: typeof QRCode | undefined;

function matrix(text: string): { size: number; data: Uint8Array } {
  let m = cache.get(text);
  if (!m) {
    // Level M: survives a print smudge; mask chosen by the library deterministically.
    let qr: QRCode.QRCode;
    try {
      qrcode ??= createRequire(import.meta.url)('qrcode') as typeof QRCode;
      qr = qrcode.create(text, { errorCorrectionLevel: 'M' });
    } catch {
      throw new RenderRefused('qr', 'too_long', 'The verification link is too long to fit in a QR code.');
    }
    m = { size: qr.modules.size, data: Uint8Array.from(qr.modules.data) };
    if (cache.size >= 256) cache.delete(cache.keys().next().value!);
    cache.set(text, m);
  }
  return m;
}

/**
 * Draws a QR code of `text` with its top-left corner at (x, y) and side `size` px, on a white
 * pad (so it scans on any template). Modules are drawn as rectangles snapped to whole pixels
 * (no image is created or decoded). Returns the drawn box.
 */
export function drawQr(
  ctx: SKRSContext2D,
  text: string,
  x: number,
  y: number,
  size: number,
): { x: number; y: number; w: number; h: number } {
  const { size: n, data } = matrix(text);
  const total = n + 2 * QUIET_MODULES;
  const { x: x0, y: y0, w: side } = qrBox(text, x, y, size);
  const cell = side / total;
  const edge = (i: number) => Math.round(i * cell);
  ctx.save();
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(x0, y0, side, side);
  ctx.fillStyle = '#000000';
  ctx.beginPath();
  for (let r = 0; r < n; r++) {
    const top = edge(r + QUIET_MODULES);
    const h = edge(r + QUIET_MODULES + 1) - top;
    for (let c = 0; c < n; c++) {
      if (!data[r * n + c]) continue;
      // Merge horizontal runs into one rectangle: fewer path ops, no hairline seams.
      let end = c;
      while (end + 1 < n && data[r * n + end + 1]) end++;
      const left = edge(c + QUIET_MODULES);
      ctx.rect(x0 + left, y0 + top, edge(end + 1 + QUIET_MODULES) - left, h);
      c = end;
    }
  }
  ctx.fill();
  ctx.restore();
  return { x: x0, y: y0, w: side, h: side };
}

/** The box drawQr will fill: whole pixels, at least one pixel per module. */
export function qrBox(text: string, x: number, y: number, size: number): { x: number; y: number; w: number; h: number } {
  const total = matrix(text).size + 2 * QUIET_MODULES;
  const side = Math.max(total, Math.round(size));
  return { x: Math.round(x), y: Math.round(y), w: side, h: side };
}

/** Module count of the QR symbol for `text` plus the quiet zone (for tests and the editor). */
export function qrModules(text: string): { modules: number; quiet: number } {
  return { modules: matrix(text).size, quiet: QUIET_MODULES };
}
