/**
 * The claim page's preview (`npm run bench -- preview`): server CPU per preview against the full
 * certificate render, same templates, same names, same run (issue 15: "scaled down, under 5 ms of
 * server CPU"; the claim page's size is CLAIM_PREVIEW, 400x566 for A4, and the 800 px wide
 * preview it replaced is measured in the same run for the ratio). CPU is `process.cpuUsage()`
 * (every thread of the process: the event loop and libuv's threads that encode), divided by the number of pictures, one at a time, every name
 * different (nothing from the preview cache). Also: the main thread's share (the event-loop time a
 * preview takes from other requests), the cache hit, and the bytes sent.
 */
import { makeTemplate } from '../test/fixtures/templates/generate.js';
import { defaultLayout, renderCertificate, renderPreview } from '../src/modules/certificates/render/index.js';
import type { RenderInput } from '../src/modules/certificates/render/types.js';
import { createRenderer, CLAIM_PREVIEW } from '../src/modules/certificates/rendering.js';
import type { CampaignRow, CampaignsRepo } from '../src/modules/certificates/campaigns-repo.js';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { report, writeResults } from './lib.js';

const results: Record<string, unknown> = {};
const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗';
const GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英';
const name = (i: number) => SURNAMES[i % SURNAMES.length]! + GIVEN[(i * 7) % GIVEN.length]! + GIVEN[(i * 13 + 3) % GIVEN.length]! + ` ${i}`;
const N = Number(process.env.PREVIEW_BENCH_N ?? 60);

/** CPU ms (all threads) and wall ms per call of `f`, over n calls one at a time. */
async function perCall(n: number, f: (i: number) => Promise<unknown>) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await f(i);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { cpuMs: Number(((cpu.user + cpu.system) / 1000 / n).toFixed(2)), wallMs: Number((wall / n).toFixed(2)) };
}

/** The event loop's busy time per call: how long each call keeps other requests waiting. */
async function loopBusy(n: number, f: (i: number) => Promise<unknown>) {
  const { eventLoopUtilization } = performance;
  const before = eventLoopUtilization();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await f(i);
  const wall = performance.now() - t0;
  const elu = eventLoopUtilization(before);
  return Number(((elu.utilization * wall) / n).toFixed(2));
}

for (const [label, width, height, qrSize] of [
  ['750x1200', 750, 1200, 130],
  ['a4_300dpi_2480x3508', 2480, 3508, 300],
] as const) {
  const template = await makeTemplate({ style: 'decorated', width, height });
  const layout = defaultLayout(width, height);
  layout.qr = { x: width - qrSize - 40, y: height - qrSize - 40, size: qrSize };
  const base: RenderInput = {
    template,
    templateKey: `bench-${label}`,
    layout,
    name: '',
    number: 'NO-000001',
    issuedAt: Date.UTC(2026, 10, 23, 3, 0),
    timeZone: 'Asia/Shanghai',
    verifyUrl: 'https://certs.example.org/verify/Qm9vbXNoYWthbGFrYQ',
    format: 'png',
  };
  // Warm-up: decode, the scaled copy, font, JIT.
  for (let i = 0; i < 10; i++) {
    await renderCertificate({ ...base, name: name(i) });
    await renderPreview({ ...base, name: name(i) }, { ...CLAIM_PREVIEW, format: 'jpeg' });
  }
  const full = await perCall(N, (i) => renderCertificate({ ...base, name: name(1000 + i) }));
  const prev = await perCall(N, (i) => renderPreview({ ...base, name: name(2000 + i) }, { ...CLAIM_PREVIEW, format: 'jpeg' }));
  const fullLoop = await loopBusy(N, (i) => renderCertificate({ ...base, name: name(3000 + i) }));
  const prevLoop = await loopBusy(N, (i) => renderPreview({ ...base, name: name(4000 + i) }, { ...CLAIM_PREVIEW, format: 'jpeg' }));
  const fullBytes = (await renderCertificate({ ...base, name: name(1) })).length;
  const prevBytes = (await renderPreview({ ...base, name: name(1) }, { ...CLAIM_PREVIEW, format: 'jpeg' })).bytes.length;
  report(results, `${label}_fullRender`, { ...full, eventLoopMs: fullLoop, bytes: fullBytes });
  report(results, `${label}_claimPreviewJpeg`, { ...prev, eventLoopMs: prevLoop, bytes: prevBytes });
  report(results, `${label}_previewCpu_over_fullCpu`, Number((prev.cpuMs / full.cpuMs).toFixed(3)));
}

// Through the renderer the claim route uses: a repeated picture comes from its cache.
{
  const template = await makeTemplate({ style: 'decorated', width: 2480, height: 3508 });
  const campaigns = {
    getTemplate: async () => ({ sha256: 'bench-cache', bytes: template, width: 2480, height: 3508 }),
  } as unknown as CampaignsRepo;
  const renderer = createRenderer({ campaigns, timeZone: 'Asia/Shanghai' });
  const campaign = {
    id: 1,
    template_sha: 'bench-cache',
    layout: null,
    date_format: 'YYYY-MM-DD',
    custom_fields: null,
    output: 'png',
  } as unknown as CampaignRow;
  const req = (i: number) => ({
    campaign,
    name: name(i),
    number: 'NO-1',
    issuedAt: Date.UTC(2026, 10, 23),
    verifyUrl: 'https://certs.example.org/verify/x',
  });
  for (let i = 0; i < 5; i++) {
    await renderer.preview(req(i), CLAIM_PREVIEW);
    await renderer.preview(req(i), { maxWidth: 800 });
  }
  const miss = await perCall(N, (i) => renderer.preview(req(5000 + i), CLAIM_PREVIEW));
  const hit = await perCall(N, () => renderer.preview(req(5000), CLAIM_PREVIEW));
  const miss800 = await perCall(N, (i) => renderer.preview(req(6000 + i), { maxWidth: 800 }));
  report(results, 'renderer_a4_previewMiss', miss);
  report(results, 'renderer_a4_previewMiss_800wide_before', miss800);
  report(results, 'renderer_a4_previewMiss_over_800wide', Number((miss.cpuMs / miss800.cpuMs).toFixed(3)));
  report(results, 'renderer_a4_previewCacheHit', hit);
  // 8 callers at once asking different names: the event loop's worst wait meanwhile.
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < N) await renderer.preview(req(7000 + next++), CLAIM_PREVIEW);
    }),
  );
  h.disable();
  report(results, 'renderer_a4_8inFlight_eventLoopDelay', {
    p50Ms: Number((h.percentile(50) / 1e6).toFixed(1)),
    p99Ms: Number((h.percentile(99) / 1e6).toFixed(1)),
    maxMs: Number((h.max / 1e6).toFixed(1)),
  });
}
report(results, 'rssMB', Math.round(process.memoryUsage().rss / 1048576));
writeResults('preview', results);
