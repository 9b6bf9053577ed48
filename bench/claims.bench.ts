/**
 * Claims on their own (issue 15: "with 8 clients at least 150 certificates/s, a single client's
 * median from submit to SMTP under 15 ms"), against a floor measured in the same run.
 *
 * Ours: the production service (`node main.js serve`, sources transpiled once by esbuild, SQLite,
 * LOG_LEVEL=warn) with CLAIMS_BENCH_VOLUNTEERS volunteers on a 750x1200 template; a claim is
 * `POST /api/submitUserInfo`, and it is done when the loopback SMTP server has accepted the
 * certificate mail (Message-ID `certificate.<recipient>.<n>`). One client alone (40 claims, one at
 * a time), then 8 clients that each wait for their certificate before the next claim.
 *
 * The floor: a bare Fastify route in a process of its own that answers the same request body and
 * hands a message of the same bytes as one of our certificate mails (captured by the SMTP sink
 * from our run) to a pooled nodemailer transport, as fast as the machine allows. Everything a
 * claim must do besides that (token lookup, the database, rendering, signing, the job) is what
 * the ratio measures. The SMTP sink and the load run in processes of their own as well; the
 * service's CPU time per claim is read from /proc.
 *
 *   npm run bench -- claims     (CLAIMS_BENCH_CLAIMS=400; CLAIMS_BENCH_PROF=1 writes a CPU
 *                                profile of the service during the 8 clients to /tmp/claimprof;
 *                                CLAIMS_BENCH_REV=<commit> measures the service of that commit;
 *                                CLAIMS_BENCH_CALLGRIND=1 runs the service under valgrind's
 *                                callgrind and reports the instructions it ran per claim of the 8
 *                                clients: not moved by the machine's load, but by JIT tier-up and
 *                                GC timing (53-69 M for the same code at 30 claims: count more);
 *                                CLAIMS_BENCH_SINGLE=<n> one-client claims, default 40;
 *                                CLAIMS_BENCH_NODE_ARGS="<flags>" node flags for the service,
 *                                `npm start`'s by default; CLAIMS_BENCH_STDOUT=<file> appends the
 *                                service's stdout there, with a line `### <phase>` where each
 *                                phase starts: with `--trace-gc` in CLAIMS_BENCH_NODE_ARGS, the
 *                                garbage collections of each phase and their reasons)
 */
import { execSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCanvas } from '@napi-rs/canvas';
import Database from 'better-sqlite3';
import { freePort } from '../test/helpers/free-port.js';
import { hashToken, randomToken } from '../src/platform/crypto/tokens.js';
import { report, writeResults, benchServiceEnv, SINK_SMTP_OPTIONS, startFlags } from './lib.js';

const CLAIMS = Number(process.env.CLAIMS_BENCH_CLAIMS ?? 400);
const SINGLE = Number(process.env.CLAIMS_BENCH_SINGLE ?? 40);
/** CLAIMS_BENCH_CALLGRIND=1: the service under callgrind, instructions counted during the 8 clients only. */
const CALLGRIND = process.env.CLAIMS_BENCH_CALLGRIND === '1';
const CALLGRIND_OUT = join(os.tmpdir(), `vh-claims-callgrind-${process.pid}.out`);
/**
 * valgrind and callgrind_control name their shared pipe after LOGNAME and HOST: the same on both
 * sides (the service's HOST is its listening address, 127.0.0.1, see benchServiceEnv).
 */
const VGDB_ENV = { LOGNAME: 'vh-bench' };
const callgrindControl = (args: string) =>
  execSync(`callgrind_control ${args}`, { stdio: 'ignore', env: { ...process.env, ...VGDB_ENV, HOST: '127.0.0.1' } });
const VOLUNTEERS = 2_000;
const ADMIN = 'bench-admin-token';
/** CLAIMS_BENCH_PROF=1: a CPU profile of the service during the 8 clients only (through its inspector), in /tmp/claimprof. */
const PROF = process.env.CLAIMS_BENCH_PROF === '1';
/** CLAIMS_BENCH_REV=<commit>: measure the service as of that commit instead of the working tree. */
const REV = process.env.CLAIMS_BENCH_REV;
/** CLAIMS_BENCH_STDOUT=<file>: the service's stdout (e.g. `--trace-gc`'s lines), appended, with `### <phase>` markers. */
const STDOUT = process.env.CLAIMS_BENCH_STDOUT;
const mark = (phase: string) => STDOUT && appendFileSync(STDOUT, `### ${phase} ${Date.now()}\n`);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const self = fileURLToPath(import.meta.url);
const child = (mode: string) => fork(self, [mode], { execArgv: ['--import', 'tsx'] });

if (process.argv[2] === 'sink') await sink();
else if (process.argv[2] === 'floor') await floor();
else await main();

/** The SMTP server: reports when each certificate mail is accepted; keeps one whole for the floor. */
async function sink() {
  const { SMTPServer } = await import('smtp-server');
  let sample: string | undefined;
  const server = new SMTPServer({
    ...SINK_SMTP_OPTIONS,
    onData(stream, _s, cb) {
      const parts: Buffer[] = [];
      stream.on('data', (c: Buffer) => parts.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(parts).toString('latin1');
        const id = /Message-ID:\s*<([^>]+)>/i.exec(raw.slice(0, 8192))?.[1] ?? '';
        if (id.startsWith('certificate.')) {
          sample ??= raw;
          process.send!({ cert: id.split('.')[1], at: Date.now() });
        }
        cb(null, 'Ok');
      });
    },
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.server.address() as { port: number }).port }));
  process.on('message', (m: { sample?: boolean }) => {
    if (m.sample) process.send!({ sample });
  });
}

/** The floor: a bare Fastify route that answers and hands a same-size message to a pooled transport. */
async function floor() {
  const { default: Fastify } = await import('fastify');
  const { default: nodemailer } = await import('nodemailer');
  const init = await new Promise<{ smtpPort: number; raw: string; ids: Record<string, number> }>((r) =>
    process.once('message', (m: any) => r(m)),
  );
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: init.smtpPort, secure: false, pool: true, maxConnections: 5 });
  const app = Fastify({ logger: false });
  app.post('/api/submitUserInfo', async (req) => {
    const body = req.body as { token: string; name: string };
    const id = init.ids[body.token];
    const raw = init.raw.replace(/Message-ID:\s*<certificate\.\d+\./i, `Message-ID: <certificate.${id}.`);
    void transport.sendMail({ envelope: { from: 'bench@bench.test', to: ['v@example.org'] }, raw: Buffer.from(raw, 'latin1') });
    return { code: 0, data: { name: body.name } };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.on('message', (m: unknown) => {
    if (m === 'cpu') process.send!({ cpu: process.cpuUsage() });
  });
  process.send!({ port: (app.server.address() as { port: number }).port });
}

/** Transpiles src/ once (esbuild, no bundling) so the service runs on plain node as in production. */
async function buildServer(): Promise<string[]> {
  const { build } = await import('esbuild');
  const outdir = join(root, 'node_modules/.cache/vh-bench-claims-dist');
  rmSync(outdir, { recursive: true, force: true });
  // CLAIMS_BENCH_REV: the service as of that commit (a before/after pair against the same floor).
  let srcRoot = root;
  if (REV) {
    srcRoot = mkdtempSync(join(os.tmpdir(), 'vh-bench-claims-rev-'));
    execSync(`git archive ${REV} src | tar -x -C ${srcRoot}`, { cwd: root });
    process.stdout.write(`service built from ${REV}\n`);
  }
  const entryPoints = (readdirSync(join(srcRoot, 'src'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => join(srcRoot, 'src', f));
  await build({ entryPoints, outdir, outbase: join(srcRoot, 'src'), format: 'esm', platform: 'node', target: 'node20', logLevel: 'error' });
  if (REV) rmSync(srcRoot, { recursive: true, force: true });
  // `npm start`'s node flags, or CLAIMS_BENCH_NODE_ARGS: node flags for the service alone (e.g.
  // --no-optimize-for-size, which NODE_OPTIONS refuses; ' ' for none).
  const given = process.env.CLAIMS_BENCH_NODE_ARGS;
  const nodeArgs = given === undefined ? startFlags() : given.split(/\s+/).filter(Boolean);
  return [...nodeArgs, ...(PROF ? ['--inspect=127.0.0.1:0'] : []), join(outdir, 'main.js')];
}

/** Resident and peak resident MB of a process (VmRSS, VmHWM), from /proc. */
function residentMb(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
}

/** CPU seconds (user + system) of a process, from /proc. */
function cpuSec(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function loadavg(): number[] {
  return os.loadavg().map((x) => Number(x.toFixed(1)));
}

/**
 * One client (one claim at a time) then 8 clients, against `base`; a claim ends when the sink
 * saw its certificate mail. Answers the figures and the CPU seconds `pid` spent on the 8 clients.
 */
async function claimRun(
  base: string,
  pid: number,
  accepted: Map<number, number>,
  single: Array<{ token: string; id: number }>,
  many: Array<{ token: string; id: number }>,
  profiler?: { start(): Promise<void>; stop(): Promise<void> },
  counting = false,
) {
  const post = async (token: string, name: string) =>
    (await (
      await fetch(`${base}/api/submitUserInfo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, name }),
      })
    ).json()) as { code: number };
  const until = async (id: number) => {
    while (!accepted.has(id)) await new Promise((res) => setTimeout(res, 1));
  };
  const one: number[] = [];
  mark(`one client ${base}`);
  for (const [i, v] of single.entries()) {
    const s = Date.now();
    const r = await post(v.token, `单人 Single ${i}`);
    if (r.code !== 0) throw new Error(`single claim ${i}: ${JSON.stringify(r)}`);
    await until(v.id);
    one.push(accepted.get(v.id)! - s);
  }
  one.sort((a, b) => a - b);
  const submittedAt = new Map<number, number>();
  let next = 0;
  await profiler?.start();
  if (counting) callgrindControl(`-i on ${pid}`);
  mark(`8 clients ${base}`);
  const cpu0 = cpuSec(pid);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < many.length) {
        const v = many[next++];
        submittedAt.set(v.id, Date.now());
        const r = await post(v.token, `志愿者 Volunteer ${v.id}`);
        if (r.code !== 0) throw new Error(`claim ${v.id}: ${JSON.stringify(r)}`);
        await until(v.id);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuSec(pid) - cpu0;
  mark(`8 clients done ${base}`);
  await profiler?.stop();
  let instructionsEach: number | undefined;
  if (counting) {
    callgrindControl(`-i off ${pid}`);
    callgrindControl(`-d ${pid}`);
    // The dump's `totals:` line counts the instructions run while counting was on (`summary:` says 0 then).
    const dumps = readdirSync(dirname(CALLGRIND_OUT)).filter((f) => f.startsWith(CALLGRIND_OUT.split('/').pop()!));
    let ir = 0;
    for (const f of dumps) {
      const m = /^totals: (\d+)/m.exec(readFileSync(join(dirname(CALLGRIND_OUT), f), 'utf8'));
      if (m) ir = Math.max(ir, Number(m[1]));
      rmSync(join(dirname(CALLGRIND_OUT), f), { force: true });
    }
    instructionsEach = Math.round(ir / many.length);
  }
  const lat = many.map((v) => accepted.get(v.id)! - submittedAt.get(v.id)!).sort((a, b) => a - b);
  const q = (a: number[], p: number) => a[Math.min(a.length - 1, Math.floor(a.length * p))];
  return {
    oneClient: { p50Ms: q(one, 0.5), p90Ms: q(one, 0.9) },
    eightClients: {
      perSec: Number((many.length / secs).toFixed(1)),
      p50Ms: q(lat, 0.5),
      p90Ms: q(lat, 0.9),
      p99Ms: q(lat, 0.99),
      cpuMsEach: Number(((cpu * 1000) / many.length).toFixed(2)),
      // The process's resident memory right after the 8 clients, and its peak since it started.
      ...residentMb(pid),
      ...(instructionsEach !== undefined ? { instructionsEach } : {}),
    },
  };
}

/** Starts and stops the service's CPU profiler through its inspector; the profile goes to /tmp/claimprof. */
async function profileOver(url: string) {
  const { WebSocket } = await import('undici');
  const ws = new WebSocket(url);
  await new Promise((r, j) => {
    ws.onopen = r;
    ws.onerror = j;
  });
  let seq = 0;
  const waiting = new Map<number, (v: any) => void>();
  ws.onmessage = (e: { data: unknown }) => {
    const m = JSON.parse(String(e.data)) as { id?: number; result?: unknown };
    if (m.id !== undefined) waiting.get(m.id)?.(m.result);
  };
  const call = (method: string, params: object = {}) =>
    new Promise<any>((resolve) => {
      const id = ++seq;
      waiting.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    async start() {
      await call('Profiler.enable');
      await call('Profiler.start');
    },
    async stop() {
      const { profile } = await call('Profiler.stop');
      mkdirSync('/tmp/claimprof', { recursive: true });
      const file = `/tmp/claimprof/claims-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`;
      writeFileSync(file, JSON.stringify(profile));
      process.stdout.write(`profile: ${file}\n`);
      ws.close();
    },
  };
}

async function main() {
  const results: Record<string, unknown> = { load_average_at_start: loadavg(), cpus: os.cpus().length };
  process.stdout.write(`load average at start: ${loadavg().join(' ')}\n`);
  const sinkProc: ChildProcess = child('sink');
  const accepted = new Map<number, number>();
  let sampleWaiter: ((s: string) => void) | undefined;
  const smtpPort = await new Promise<number>((resolve) => {
    sinkProc.on('message', (m: { port?: number; cert?: string; at?: number; sample?: string }) => {
      if (m.port) resolve(m.port);
      if (m.cert) accepted.set(Number(m.cert), m.at!);
      if (m.sample !== undefined) sampleWaiter?.(m.sample);
    });
  });

  const dataDir = mkdtempSync(join(os.tmpdir(), 'vh-bench-claims-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const serviceArgs = [...(await buildServer()), 'serve'];
  const server = spawn(
    CALLGRIND ? 'valgrind' : process.execPath,
    CALLGRIND
      ? ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${CALLGRIND_OUT}`, process.execPath, ...serviceArgs]
      : serviceArgs,
    {
      cwd: root,
      env: { ...benchServiceEnv({ port, dataDir, adminToken: ADMIN, smtpPort }), ...(CALLGRIND ? VGDB_ENV : {}) },
      stdio: ['ignore', STDOUT ? openSync(STDOUT, 'a') : 'ignore', PROF ? 'pipe' : CALLGRIND ? 'ignore' : 'inherit'],
    },
  );
  const inspectorUrl = PROF
    ? new Promise<string>((resolve) => {
        let text = '';
        server.stderr!.on('data', (b: Buffer) => {
          process.stderr.write(b);
          text += b.toString();
          const m = /Debugger listening on (ws:\/\/\S+)/.exec(text);
          if (m) resolve(m[1]);
        });
      })
    : undefined;
  let floorProc: ChildProcess | undefined;
  let db: Database.Database | undefined;
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${base}/healthz`)).ok) break;
      } catch {
        if (i > (CALLGRIND ? 6000 : 600)) throw new Error('the service did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const pid = server.pid!;
    const email = Array.from({ length: VOLUNTEERS }, (_, i) => `volunteer${i}@example.org,NO-${i}`);
    await fetch(`${base}/api/addUserData`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: ADMIN, email }),
    });
    // Link tokens, as the send job writes them, straight into the database file (WAL).
    db = new Database(join(dataDir, 'volunteer-hub.sqlite'));
    db.pragma('busy_timeout = 10000');
    const cid = (db.prepare("SELECT id FROM campaigns WHERE slug = 'default'").get() as { id: number }).id;
    const rows = db.prepare('SELECT id FROM recipients WHERE campaign_id = ? ORDER BY id').all(cid) as { id: number }[];
    if (rows.length < 1 + SINGLE + CLAIMS) throw new Error(`only ${rows.length} volunteers`);
    const vols = rows.map((r) => ({ id: r.id, token: randomToken(32) }));
    const setTok = db.prepare('UPDATE recipients SET token_hash = ?, status = 1 WHERE id = ?');
    db.transaction(() => vols.forEach((v) => setTok.run(hashToken(v.token), v.id)))();

    const c = createCanvas(750, 1200);
    const g = c.getContext('2d');
    g.fillStyle = '#fdf6e3';
    g.fillRect(0, 0, 750, 1200);
    g.fillStyle = '#b58900';
    g.fillRect(40, 40, 670, 20);
    const form = new FormData();
    form.append('template', new Blob([new Uint8Array(c.toBuffer('image/png'))]), 't.png');
    await fetch(`${base}/api/uploadImage`, { method: 'POST', body: form, headers: { Token: ADMIN } });
    // Warm-up (the first render loads the font and the template).
    const warm = vols[vols.length - 1];
    await fetch(`${base}/api/submitUserInfo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: warm.token, name: '预热 Warm-up' }),
    });
    while (!accepted.has(warm.id)) await new Promise((r) => setTimeout(r, 5));

    const profiler = inspectorUrl ? await profileOver(await inspectorUrl) : undefined;
    const ours = await claimRun(base, pid, accepted, vols.slice(0, SINGLE), vols.slice(SINGLE, SINGLE + CLAIMS), profiler, CALLGRIND);
    const oursEnded = Date.now();
    report(results, 'ours', ours);
    report(results, 'load_average_after_ours', loadavg());

    // The floor, same run: a message of the same bytes, ids the sink has not seen yet.
    const raw = await new Promise<string>((r) => {
      sampleWaiter = r;
      sinkProc.send({ sample: true });
    });
    report(results, 'certificate_mail_bytes', raw.length);
    floorProc = child('floor');
    const fl = floorProc;
    const floorVols = Array.from({ length: SINGLE + CLAIMS }, (_, i) => ({ id: 10_000_000 + i, token: `floor-${i}` }));
    const floorPort = await new Promise<number>((resolve) => {
      fl.on('message', (m: { port?: number }) => m.port && resolve(m.port));
      fl.send({ smtpPort, raw, ids: Object.fromEntries(floorVols.map((v) => [v.token, v.id])) });
    });
    const fb = `http://127.0.0.1:${floorPort}`;
    // Warm-up of the floor's pool and JIT.
    await fetch(`${fb}/api/submitUserInfo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"token":"x","name":"y"}',
    });
    const bare = await claimRun(fb, fl.pid!, accepted, floorVols.slice(0, SINGLE), floorVols.slice(SINGLE));
    report(results, 'floor', bare);
    // The service again, idle since its 8 clients ended (the floor's run, ~10 s): what it gave back.
    report(results, 'ours_resident_after_floor', residentMb(pid));
    // And 30 s after its claims (V8's memory reducer looks every 8 s): what an idle service keeps.
    await new Promise((r) => setTimeout(r, Math.max(0, oursEnded + 30_000 - Date.now())));
    report(results, 'ours_resident_30s_after', residentMb(pid));
    report(results, 'ratio_claims_per_sec_ours_over_floor', Number((ours.eightClients.perSec / bare.eightClients.perSec).toFixed(2)));
    report(results, 'ratio_one_client_p50_ours_over_floor', Number((ours.oneClient.p50Ms / Math.max(1, bare.oneClient.p50Ms)).toFixed(1)));
    report(results, 'load_average_at_end', loadavg());
    if (REV) results.rev = REV;
    writeResults(REV ? `claims-${REV}` : 'claims', results);
  } finally {
    db?.close();
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    floorProc?.kill();
    sinkProc.kill();
    rmSync(dataDir, { recursive: true, force: true });
    if (CALLGRIND) {
      const dir = dirname(CALLGRIND_OUT);
      for (const f of readdirSync(dir)) if (f.startsWith(CALLGRIND_OUT.split('/').pop()!)) rmSync(join(dir, f), { force: true });
    }
  }
}
