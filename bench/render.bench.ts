/**
 * Certificate rendering speed (`npm run bench -- render`): a 750x1200 decorated PNG template,
 * CJK names, name + number + date + QR code. Figures: the cold first render (font load, decode,
 * template precompute), warm median/p90/p99 and renders/s single-threaded (one at a time), the
 * same with 8 renders in flight (deflate runs on libuv's threads), PDF, and for scale Skia's own
 * PNG encoder on the same canvas (what a naive `canvas.encode('png')` renderer would cost).
 */
import { makeTemplate } from '../test/fixtures/templates/generate.js';
import { defaultLayout, renderCertificate } from '../src/modules/certificates/render/index.js';
import { drawCertificate } from '../src/modules/certificates/render/render.js';
import { loadTemplate } from '../src/modules/certificates/render/template-cache.js';
import type { RenderInput } from '../src/modules/certificates/render/index.js';
import { report, writeResults } from './lib.js';

const results: Record<string, unknown> = {};
const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗';
const GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英';

function name(i: number): string {
  return SURNAMES[i % SURNAMES.length] + GIVEN[(i * 7) % GIVEN.length] + GIVEN[(i * 13 + 3) % GIVEN.length];
}

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => Number(s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(2));
  return { n: s.length, medianMs: q(0.5), p90Ms: q(0.9), p99Ms: q(0.99), minMs: Number(s[0].toFixed(2)) };
}

const template = await makeTemplate({ style: 'decorated' });
const layout = defaultLayout(750, 1200);
layout.qr = { x: 580, y: 980, size: 130 };
const base: RenderInput = {
  template,
  templateKey: 'bench-template',
  layout,
  name: '',
  number: 'NO-000001',
  issuedAt: Date.UTC(2026, 10, 23, 3, 0),
  timeZone: 'Asia/Shanghai',
  verifyUrl: 'https://certs.example.org/verify/Qm9vbXNoYWthbGFrYQ',
  format: 'png',
};
report(results, 'template', { width: 750, height: 1200, pngBytes: template.length });

let t = performance.now();
const first = await renderCertificate({ ...base, name: '欧阳娜娜' });
report(results, 'coldFirstRenderMs', Number((performance.now() - t).toFixed(1)));
report(results, 'outputPngBytes', first.length);

for (let i = 0; i < 20; i++) await renderCertificate({ ...base, name: name(i) }); // JIT warm-up

const N = 300;
const single: number[] = [];
t = performance.now();
for (let i = 0; i < N; i++) {
  const a = performance.now();
  await renderCertificate({ ...base, name: name(i), number: `NO-${String(i).padStart(6, '0')}` });
  single.push(performance.now() - a);
}
const singleWall = performance.now() - t;
report(results, 'pngWarmSingle', { ...stats(single), rendersPerSec: Math.round((N / singleWall) * 1000) });

const conc: number[] = [];
t = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (next < N) {
      const i = next++;
      const a = performance.now();
      await renderCertificate({ ...base, name: name(i + 1000) });
      conc.push(performance.now() - a);
    }
  }),
);
report(results, 'pngWarm8InFlight', { ...stats(conc), rendersPerSec: Math.round((N / (performance.now() - t)) * 1000) });

const noKey: number[] = [];
for (let i = 0; i < 100; i++) {
  const a = performance.now();
  await renderCertificate({ ...base, templateKey: undefined, name: name(i) });
  noKey.push(performance.now() - a);
}
report(results, 'pngWarmWithoutTemplateKey(sha256 per render)', stats(noKey));

const pdf: number[] = [];
for (let i = 0; i < 100; i++) {
  const a = performance.now();
  await renderCertificate({ ...base, name: name(i), format: 'pdf' });
  pdf.push(performance.now() - a);
}
report(results, 'pdfWarmSingle', stats(pdf));

const tpl = await loadTemplate(template, 'bench-template');
const draw: number[] = [];
const skia: number[] = [];
for (let i = 0; i < 20; i++) {
  const a = performance.now();
  const { canvas } = drawCertificate(tpl, { ...base, name: name(i) });
  const b = performance.now();
  await canvas.encode('png');
  draw.push(b - a);
  skia.push(performance.now() - b);
}
report(results, 'drawOnlyMedianMs', stats(draw).medianMs);
report(results, 'forScale_skiaEncodePngMedianMs', stats(skia).medianMs);
// A print-resolution template (A4 at 300 dpi, 8.7 megapixels): the same work scaled up.
{
  const big = await makeTemplate({ style: 'decorated', width: 2480, height: 3508 });
  const l = defaultLayout(2480, 3508);
  l.qr = { x: 2000, y: 3000, size: 300 };
  const args = { ...base, template: big, templateKey: 'bench-a4', layout: l };
  let a = performance.now();
  await renderCertificate({ ...args, name: '欧阳娜娜' });
  report(results, 'a4_300dpi_coldFirstRenderMs', Number((performance.now() - a).toFixed(1)));
  const ms: number[] = [];
  for (let i = 0; i < 30; i++) {
    a = performance.now();
    await renderCertificate({ ...args, name: name(i) });
    ms.push(performance.now() - a);
  }
  report(results, 'a4_300dpi_pngWarmSingle', stats(ms));
  report(results, 'rssMB', Math.round(process.memoryUsage().rss / 1048576));
}
writeResults('render', results);
