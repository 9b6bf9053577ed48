/**
 * What verifying an upload in full costs (issue 10 item 11), `npm run bench -- upload-check`: the
 * JPEG scan walk (jpeg-scan.ts) and the PNG integrity check against Skia's own decode of the same
 * file in the same run (the floor: every upload is decoded anyway). Templates of 2 and 24
 * megapixels with texture (photo-like scan data). Also the longest event-loop stall during the
 * walk (it yields every ~20 ms).
 */
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { checkImageIntegrity } from '../src/modules/certificates/render/image-integrity.js';
import { report, writeResults } from './lib.js';

const results: Record<string, unknown> = {};

function textured(width: number, height: number, type: 'image/jpeg' | 'image/png'): Buffer {
  const c = createCanvas(width, height);
  const g = c.getContext('2d');
  for (let i = 0; i < 3000; i++) {
    g.fillStyle = `hsl(${(i * 37) % 360} 60% ${30 + (i % 50)}%)`;
    g.fillRect((i * 7919) % width, (i * 104729) % height, 20 + (i % 200), 10 + (i % 120));
  }
  return type === 'image/jpeg' ? c.toBuffer('image/jpeg', 90) : c.toBuffer('image/png');
}

async function best(n: number, f: () => Promise<unknown>): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await f();
    min = Math.min(min, performance.now() - t0);
  }
  return Number(min.toFixed(1));
}

for (const [w, h] of [
  [1754, 1240],
  [6000, 4000],
] as const) {
  for (const type of ['image/jpeg', 'image/png'] as const) {
    const bytes = textured(w, h, type);
    const label = `${type.slice(6)} ${w}x${h} (${(bytes.length / 1048576).toFixed(1)} MB)`;
    const decodeMs = await best(3, async () => {
      const img = await loadImage(bytes);
      // Skia decodes lazily: draw a pixel so the decode really happens.
      const c = createCanvas(1, 1);
      c.getContext('2d').drawImage(img, 0, 0, 1, 1);
    });
    const hist = monitorEventLoopDelay({ resolution: 5 });
    hist.enable();
    const checkMs = await best(3, () => checkImageIntegrity(bytes));
    hist.disable();
    report(results, `${label}: full check ms`, checkMs);
    report(results, `${label}: Skia decode ms (floor)`, decodeMs);
    report(results, `${label}: check / decode`, Number((checkMs / decodeMs).toFixed(2)));
    report(results, `${label}: longest event-loop stall during the check ms`, Number((hist.max / 1e6).toFixed(1)));
  }
}
writeResults('upload-check', results);
