/**
 * Issue 15's memory targets, on the production build started as `npm start` starts it (`node
 * <its node flags> dist/main.js serve`, the flags read from package.json's start script), SQLite, each
 * service in a process of its own so its resident memory is its own:
 * - idle RSS after start-up and a few requests (target < 100 MB): read 2 s after the last request
 *   and again after IDLE_SETTLE_MS without requests, once V8's memory reducer (which shrinks the
 *   heap of a process that stopped allocating, seconds after its last activity) has had its turn:
 *   the figure an operator's `ps` shows for an idle service. The floor is read the same way.
 * - for each campaign size N (MEM_BENCH_N, default 10000,100000): N volunteers imported through
 *   addUserData in batches of 10,000 as the organizer's console does, then N notices sent into a
 *   loopback SMTP server (smtp-server, in another process). RSS is sampled from /proc every 50 ms.
 *   The service is restarted on the same data between import and sending,
 *   where VmHWM after the last notice is exactly the peak of start-up + sending (target < 150 MB
 *   at 100,000, and the same at every N). The import's peak is reported on its own.
 * The floor, measured in the same run: a bare Fastify server answering one JSON route, idle.
 *
 *   npm run bench -- memory                        (builds first; MEM_BENCH_BUILD=0 skips it)
 *   MEM_BENCH_N=10000,100000,1000000 npm run bench -- memory
 *   MEM_BENCH_NODE_FLAGS='--max-semi-space-size=4' ... (node flags for the service instead of
 *     `npm start`'s, to compare; MEM_BENCH_NODE_FLAGS=' ' runs it with none)
 *   MEM_BENCH_SEND_FIRST=100000 ...                  (measure sending over the first K notices of
 *     each campaign only, its quarters being quarters of K: a 1,000,000 campaign's peak over its
 *     first 100,000, comparable with a whole 100,000 one, when the whole would take hours here)
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/free-port.js';
import { report, writeResults, benchServiceEnv, SINK_SMTP_OPTIONS, startFlags } from './lib.js';

/** How long "idle" waits after the last request before its second reading (see the top). */
const IDLE_SETTLE_MS = Number(process.env.MEM_BENCH_IDLE_SETTLE_MS ?? 12_000);
const SIZES = (process.env.MEM_BENCH_N ?? '10000,100000').split(',').map(Number);
const SEND_FIRST = Number(process.env.MEM_BENCH_SEND_FIRST ?? 0) || Infinity;
const ADMIN = 'bench-admin-token';
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const self = fileURLToPath(import.meta.url);

const NODE_FLAGS =
  process.env.MEM_BENCH_NODE_FLAGS !== undefined ? process.env.MEM_BENCH_NODE_FLAGS.split(' ').filter(Boolean) : startFlags();

if (process.argv[2] === 'sink') await sink();
else await main();

/** The SMTP server: counts the notices it accepted. */
async function sink() {
  const { SMTPServer } = await import('smtp-server');
  let notices = 0;
  const server = new SMTPServer({
    ...SINK_SMTP_OPTIONS,
    onData(stream, _s, cb) {
      stream.on('data', () => {});
      stream.on('end', () => {
        notices++;
        cb(null, 'Ok');
      });
    },
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.server.address() as { port: number }).port }));
  process.on('message', () => process.send!({ notices }));
}

/** Resident MB now and at the high-water mark, from /proc/<pid>/status. */
function rss(pid: number): { now: number; hwm: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return {
    now: Math.round(kb('VmRSS') / 1024),
    hwm: Math.round(kb('VmHWM') / 1024),
    // RSS split: the process's own memory (heap, malloc, SQLite's page caches) and mapped files
    // (the node binary, the database file through the reader's mmap: pages the kernel can drop).
    anon: Math.round(kb('RssAnon') / 1024),
    file: Math.round(kb('RssFile') / 1024),
  };
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
function cpuSec(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ
}

/** Samples a process's RSS every 50 ms until stopped; returns the highest sample. */
function sampler(pid: number): { stop(): number; peak(): number; peakAnon(): number; fileAtPeak(): number } {
  let peak = 0;
  let peakAnon = 0;
  let fileAtPeak = 0;
  const take = () => {
    try {
      const r = rss(pid);
      if (r.now > peak) [peak, fileAtPeak] = [r.now, r.file];
      peakAnon = Math.max(peakAnon, r.anon);
    } catch {
      /* the process ended */
    }
  };
  take();
  const t = setInterval(take, 50);
  return {
    stop() {
      clearInterval(t);
      take();
      return peak;
    },
    peak: () => peak,
    peakAnon: () => peakAnon,
    fileAtPeak: () => fileAtPeak,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitHealthy(base: string, proc: ChildProcess): Promise<void> {
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`the service exited (${proc.exitCode})`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {
      if (i > 1200) throw new Error('the service did not start');
    }
    await sleep(100);
  }
}

/** The production service on its own data directory, started with `npm start`'s node flags. */
async function startService(dataDir: string, smtpPort: number): Promise<{ proc: ChildProcess; base: string }> {
  const port = await freePort();
  const flags = NODE_FLAGS;
  const proc = spawn(process.execPath, [...flags, join(root, 'dist/main.js'), 'serve'], {
    cwd: root,
    env: { ...benchServiceEnv({ port, dataDir, adminToken: ADMIN, smtpPort }), NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  await waitHealthy(base, proc);
  return { proc, base };
}

async function stopService(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
}

/** What a visitor, a volunteer and the organizer ask first: the pages and a few API answers. */
async function fewRequests(base: string): Promise<void> {
  const auth = { authorization: `Bearer ${ADMIN}` };
  for (let i = 0; i < 3; i++) {
    await (await fetch(`${base}/`)).arrayBuffer();
    await (await fetch(`${base}/admin`)).arrayBuffer();
    await (await fetch(`${base}/api/getUserInfo?token=nobody-has-this-token-${i}`)).arrayBuffer();
    await (await fetch(`${base}/api/v2/certificates/campaigns`, { headers: auth })).arrayBuffer();
    await (await fetch(`${base}/healthz`)).arrayBuffer();
  }
}

async function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return (await res.json()) as { code: number | string; data?: any; message?: string };
}

/** The floor: a bare Fastify server with one JSON route, idle after the same number of requests. */
async function floorIdle(): Promise<number> {
  const dir = mkdtempSync(join(os.tmpdir(), 'vh-memfloor-'));
  const file = join(dir, 'bare.mjs');
  writeFileSync(
    file,
    `import Fastify from ${JSON.stringify(join(root, 'node_modules/fastify/fastify.js'))};\n` +
      `const app = Fastify();\napp.get('/healthz', async () => ({ status: 'ok' }));\n` +
      `await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });\n`,
  );
  const port = await freePort();
  const proc = spawn(process.execPath, [file], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitHealthy(base, proc);
    for (let i = 0; i < 15; i++) await (await fetch(`${base}/healthz`)).arrayBuffer();
    await sleep(IDLE_SETTLE_MS);
    return rss(proc.pid!).now;
  } finally {
    await stopService(proc);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const loadavg = () => os.loadavg().map((x) => Number(x.toFixed(1)));
  const results: Record<string, unknown> = { load_average_at_start: loadavg(), cpus: os.cpus().length, sizes: SIZES };
  process.stdout.write(`load average at start: ${loadavg().join(' ')}\n`);
  report(results, 'service_node_flags', NODE_FLAGS.join(' '));
  if (process.env.MEM_BENCH_BUILD !== '0') {
    const b = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    if (b.status !== 0) throw new Error('npm run build failed');
  }

  const sinkProc = fork(self, ['sink'], { execArgv: ['--import', 'tsx'] });
  const smtpPort = await new Promise<number>((resolve) => sinkProc.once('message', (m: { port: number }) => resolve(m.port)));
  const countNotices = () =>
    new Promise<number>((resolve) => {
      sinkProc.once('message', (m: { notices: number }) => resolve(m.notices));
      sinkProc.send({});
    });

  try {
    const floor = await floorIdle();
    report(results, 'floor_bare_fastify_idle_rss_mb', floor);

    for (const n of SIZES) {
      const dataDir = mkdtempSync(join(os.tmpdir(), 'vh-membench-'));
      let svc = await startService(dataDir, smtpPort);
      try {
        const pid = svc.proc.pid!;
        const startHwm = rss(pid).hwm;
        await fewRequests(svc.base);
        await sleep(2000);
        report(results, `n${n}_idle_2s_rss_mb`, rss(pid).now);
        await sleep(IDLE_SETTLE_MS - 2000);
        const idle = rss(pid);
        report(results, `n${n}_idle_rss_mb`, idle.now);
        report(results, `n${n}_idle_ratio_to_floor`, Number((idle.now / floor).toFixed(2)));
        report(results, `n${n}_startup_hwm_mb`, Math.max(startHwm, idle.hwm));

        // Import N through addUserData, 10,000 lines a request (the API's and the console's size).
        const auth = { authorization: `Bearer ${ADMIN}` };
        await post(svc.base, '/api/v2/certificates/campaigns', { name: 'Notices', slug: 'notices' }, auth);
        const importPeak = sampler(pid);
        const i0 = performance.now();
        const icpu0 = cpuSec(pid);
        let added = 0;
        for (let i = 0; i < n; i += 10_000) {
          const email = Array.from({ length: Math.min(10_000, n - i) }, (_, j) => `v${i + j}@example.org,NO-${i + j}`);
          const r = await post(svc.base, '/api/addUserData', { token: ADMIN, email, campaign: 'notices' });
          if (r.code !== 0) throw new Error(`import: ${JSON.stringify(r)}`);
          added += Number(r.data?.added ?? 0);
        }
        if (added !== n) throw new Error(`imported ${added} of ${n}`);
        report(results, `n${n}_import_seconds`, Number(((performance.now() - i0) / 1000).toFixed(1)));
        report(results, `n${n}_import_service_cpu_seconds`, Number((cpuSec(pid) - icpu0).toFixed(2)));
        report(results, `n${n}_import_peak_rss_mb`, importPeak.stop());

        // Sending in a service restarted on the same data: its VmHWM is start-up + sending, with
        // none of the import's garbage (an instance that imported hours ago has collected it).
        await sleep(1000);
        report(results, `n${n}_rss_after_import_mb`, rss(pid).now);
        await stopService(svc.proc);
        svc = await startService(dataDir, smtpPort);
        const spid = svc.proc.pid!;
        await fewRequests(svc.base);
        await sleep(1000);
        const restarted = rss(spid);
        report(results, `n${n}_restarted_idle_rss_mb`, restarted.now);
        report(results, `n${n}_restarted_idle_anon_file_mb`, [restarted.anon, restarted.file]);
        const before = await countNotices();
        const sendPeak = sampler(spid);
        const quarter: number[] = [];
        const s0 = performance.now();
        const scpu0 = cpuSec(spid);
        const r = await post(svc.base, '/api/email', { token: ADMIN, action: 'send', campaign: 'notices' });
        if (r.code !== 0) throw new Error(`send: ${JSON.stringify(r)}`);
        // The whole campaign, or its first SEND_FIRST notices (the rest is left unsent).
        const target = Math.min(n, SEND_FIRST);
        if (target < n) report(results, `n${n}_send_measured_over_first`, target);
        for (let q = 1; ;) {
          await sleep(250);
          const sent = (await countNotices()) - before;
          // The sampled peak so far at each quarter of the campaign: flat when memory does not grow with progress.
          while (q <= 4 && sent >= (target * q) / 4) {
            quarter.push(sendPeak.peak());
            process.stdout.write(
              `  ${n}: ${q * 25}% sent, peak so far ${sendPeak.peak()} MB, ${Math.round(sent / ((performance.now() - s0) / 1000))}/s\n`,
            );
            q++;
          }
          if (sent >= target) break;
          if (svc.proc.exitCode !== null) throw new Error('the service died while sending');
          if (performance.now() - s0 > 3_600_000) throw new Error('notices took more than an hour');
        }
        const secs = (performance.now() - s0) / 1000;
        const sampled = sendPeak.stop();
        report(results, `n${n}_notices_per_second`, Math.round(target / secs));
        report(results, `n${n}_send_service_cpu_ms_each`, Number((((cpuSec(spid) - scpu0) * 1000) / target).toFixed(2)));
        report(results, `n${n}_send_peak_rss_mb`, rss(spid).hwm);
        report(results, `n${n}_send_peak_rss_sampled_mb`, sampled);
        report(results, `n${n}_send_peak_by_quarter_mb`, quarter);
        report(results, `n${n}_send_peak_anon_mb`, sendPeak.peakAnon());
        report(results, `n${n}_send_file_mapped_at_peak_mb`, sendPeak.fileAtPeak());
        report(results, `n${n}_send_peak_ratio_to_floor`, Number((rss(spid).hwm / floor).toFixed(2)));
      } finally {
        await stopService(svc.proc);
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
    report(results, 'load_average_at_end', loadavg());
    writeResults('memory', results);
  } finally {
    sinkProc.kill();
  }
}
