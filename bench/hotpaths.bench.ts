/**
 * The three hot paths against the floor (issue 15): `GET /api/getUserInfo` (100,000 volunteers),
 * the mini-program `get` (100,000 users) and the auto-reply webhook (plain mode, 1,000 rules),
 * each as a ratio to a bare Fastify route answering the same body to the same requests, measured
 * in the same run, one right after the other (the machine is shared: absolute figures move with
 * its load, the ratio much less). Target: every ratio >= 0.50 with the default settings, the
 * access log included (LOG_LEVEL=info, JSON lines to a file, as an operator keeps them).
 *
 * Load: wrk (C, so the generator does not eat the server's core as autocannon would), -t2 -c32,
 * every request different (a random volunteer's token, a random user's body, a freshly signed
 * WeChat message with its own MsgId), read by a small Lua script from a file built beforehand.
 * The service runs in one process, the floor (bare Fastify, no logger) in another.
 *
 *   npm run bench -- hotpaths     (HOT_BENCH_SECONDS=8; HOT_BENCH_PROF=1 writes a CPU profile of
 *                                  each measured run of the service to /tmp/hotprof/<path>.cpuprofile; HOT_BENCH_LOG_LEVEL=warn to compare;
 *                                  HOT_BENCH_ONLY=get,webhook runs only those;
 *                                  HOT_BENCH_NODE_ARGS='--max-semi-space-size=2' gives the service's
 *                                  process those node flags instead of `npm start`'s, ' ' for none)
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { report, seedMiniprogramUsers, startBenchWechat, startFlags, writeResults } from './lib.js';
import {
  getUserInfoLine,
  hotServiceEnv,
  likeServe,
  miniprogramGetLine,
  openidOf,
  seedWebhookAccounts,
  tokenOf,
  WRK_LUA,
  writeWebhookRequests,
} from './hot-setup.js';

const SECONDS = Number(process.env.HOT_BENCH_SECONDS ?? 8);
const VOLUNTEERS = 100_000;
const MP_USERS = 100_000;
const self = fileURLToPath(import.meta.url);

interface Ready {
  url: string;
  webhookPath: string;
  webhookToken: string;
  samples: Record<string, { type: string; body: string }>;
}

/** The service: default settings (LOG_LEVEL as in the environment, default info), seeded. */
async function service(): Promise<void> {
  // As `serve` starts (main.ts does this first): V8's heap settings (`--optimize-for-size`), the tick shape.
  await likeServe();
  const dataDir = mkdtempSync(join(tmpdir(), 'vh-hot-bench-'));
  const { parseConfig } = await import('../src/config.js');
  const { buildApp, createAppCore } = await import('../src/app.js');
  const { hashToken } = await import('../src/platform/crypto/tokens.js');
  // Connecting the official account proves its appid and secret with WeChat: a loopback fake.
  const wechat = await startBenchWechat();
  const env = hotServiceEnv(dataDir, {
    WECHAT_API_BASE: wechat.url,
    // The default level (info), not run.ts's warn: the access log is part of what is measured.
    LOG_LEVEL: process.env.HOT_BENCH_LOG_LEVEL ?? 'info',
  });
  const core = await createAppCore(parseConfig(env));
  const app = await buildApp(core);
  const sqlite = core.handle.sqlite!;

  // Auto-reply: one plain-mode account with 1,000 rules (as bench/autoreply.bench.ts); first,
  // as the step that asks (the fake) WeChat, so that a failure there shows before the long import.
  const [account] = await seedWebhookAccounts(core, [{ appid: 'wxhotbenchplain01', token: 'tokhotbench1', aesKey: null, rules: 1000 }]);
  const { path: webhookPath, token: webhookToken } = account!;

  // Certificates: 100,000 volunteers through the seed's import, 20,000 of them with a link token.
  for (let b = 0; b < VOLUNTEERS / 10_000; b++) {
    const email = Array.from({ length: 10_000 }, (_, i) => `volunteer${b * 10_000 + i}@example.org,NO-${b * 10_000 + i}`);
    const r = await app.inject({ method: 'POST', url: '/api/addUserData', payload: { token: env.ADMIN_TOKEN, email } });
    if (r.statusCode !== 200) throw new Error(`import: ${r.body}`);
  }
  const rows = sqlite.prepare('SELECT id FROM recipients ORDER BY id LIMIT 20000').all() as { id: number }[];
  const setTok = sqlite.prepare('UPDATE recipients SET token_hash = ?, status = 1 WHERE id = ?');
  sqlite.transaction(() => rows.forEach((r, i) => setTok.run(hashToken(tokenOf('cert', i)), r.id)))();

  // Mini-program: 100,000 profiles, each with a session.
  seedMiniprogramUsers(sqlite, MP_USERS, openidOf, (i) => hashToken(tokenOf('mp', i)));

  // The console's search index is filled in the background after an import: finish it now, so
  // that its batches are not counted in the hot paths' CPU time per answer.
  const { searchIndexerFor } = await import('../src/modules/certificates/search-indexer.js');
  await searchIndexerFor(core.handle)?.drain();
  sqlite.pragma('wal_checkpoint(TRUNCATE)');

  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  // One real answer per path: the floor answers exactly these bytes.
  const { buildInbound } = await import('../src/platform/wechat/callback.js');
  const base = `http://127.0.0.1:${port}`;
  const sample = async (path: string, init?: RequestInit) => {
    const r = await fetch(base + path, init);
    return { type: r.headers.get('content-type') ?? 'text/plain', body: await r.text() };
  };
  const inbound = buildInbound(
    { appid: 'wxhotbenchplain01', token: webhookToken },
    {
      ToUserName: 'gh_bench',
      FromUserName: 'oFollower1',
      CreateTime: Math.floor(Date.now() / 1000),
      MsgType: 'text',
      Content: 'kw00003',
      MsgId: '1',
    },
    Date.now(),
    false,
  );
  const samples = {
    getUserInfo: await sample(`/api/getUserInfo?token=${tokenOf('cert', 1)}`),
    get: await sample('/service/user/get', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ openid: openidOf(1), token: tokenOf('mp', 1) }),
    }),
    webhook: await sample(`${webhookPath}?${new URLSearchParams(inbound.query)}`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: inbound.body,
    }),
  };
  process.send!({ url: base, webhookPath, webhookToken, samples } satisfies Ready);
  // HOT_BENCH_PROF: a CPU profile of each measured run of ours (the seeding left out).
  const { Session } = await import('node:inspector/promises');
  const inspector = new Session();
  inspector.connect();
  process.on('message', async (m: any) => {
    if (m?.profStart) {
      await inspector.post('Profiler.enable');
      await inspector.post('Profiler.start');
      process.send!({ profiling: true });
    }
    if (m?.profStop) {
      const { profile } = await inspector.post('Profiler.stop');
      writeFileSync(m.profStop, JSON.stringify(profile));
      process.send!({ profiled: m.profStop });
    }
    // hot-serve.ts: a sampling heap profile of what outlives a scavenge (objects the young
    // generation's collections kept, whether or not a full collection freed them since).
    if (m?.heapStart) {
      await inspector.post('HeapProfiler.startSampling', {
        samplingInterval: 512,
        includeObjectsCollectedByMinorGC: false,
        includeObjectsCollectedByMajorGC: true,
      });
      process.send!({ heapSampling: true });
    }
    if (m?.heapStop) {
      const { profile } = await inspector.post('HeapProfiler.stopSampling');
      writeFileSync(m.heapStop, JSON.stringify(profile));
      process.send!({ heapSampled: m.heapStop });
    }
    if (m === 'cpu') process.send!({ cpu: process.cpuUsage() });
    if (m === 'stop') {
      await app.close();
      await core.close();
      await wechat.close();
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    }
  });
}

/** The floor: bare Fastify (no logger, no plugins) answering each path's sample body. */
async function floor(): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const ready = await new Promise<Ready>((r) => process.once('message', (m) => r(m as Ready)));
  const app = Fastify();
  app.addContentTypeParser(['text/xml', 'application/xml'], { parseAs: 'string' }, (_req, body, done) => done(null, body));
  const answer = (s: { type: string; body: string }) => async (_req: unknown, reply: any) => reply.type(s.type).send(s.body);
  app.get('/api/getUserInfo', answer(ready.samples.getUserInfo!));
  app.post('/service/user/get', answer(ready.samples.get!));
  app.post(ready.webhookPath, answer(ready.samples.webhook!));
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.send!({ url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` });
  process.on('message', async (m) => {
    if (m === 'cpu') process.send!({ cpu: process.cpuUsage() });
    if (m === 'stop') process.exit(0);
  });
}

interface WrkResult {
  requestsPerSec: number;
  /** The server's own CPU time per answer (user + system): what a loaded machine disturbs least. */
  cpuUsEach?: number;
  /** Answers in the run (a file of n distinct requests is read again from its start after n). */
  requests: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

function wrk(url: string, reqFile: string, luaFile: string, seconds: number): WrkResult {
  const r = spawnSync('wrk', ['-t2', '-c32', `-d${seconds}s`, '--latency', '-s', luaFile, url], {
    env: { ...process.env, WRK_REQS: reqFile, WRK_THREADS: '2' },
    encoding: 'utf8',
  });
  const line = /WRKJSON (.*)/.exec(r.stdout ?? '')?.[1];
  if (!line) throw new Error(`wrk failed: ${r.stderr || r.stdout}`);
  const j = JSON.parse(line) as { requests: number; durationUs: number; errors: number; non2xx: number; p50Us: number; p99Us: number };
  return {
    requests: j.requests,
    requestsPerSec: Math.round(j.requests / (j.durationUs / 1e6)),
    p50Ms: j.p50Us / 1000,
    p99Ms: j.p99Us / 1000,
    errors: j.errors,
    non2xx: j.non2xx,
  };
}

async function main(): Promise<void> {
  if (spawnSync('wrk', ['-v']).error) throw new Error('wrk is not installed (apt-get install wrk)');
  const results: Record<string, unknown> = {
    connections: 32,
    threads: 2,
    seconds: SECONDS,
    logLevel: process.env.HOT_BENCH_LOG_LEVEL ?? 'info (default)',
  };
  report(
    results,
    'load average at start',
    loadavg()
      .map((x) => x.toFixed(1))
      .join(' '),
  );
  const dir = mkdtempSync(join(tmpdir(), 'vh-hot-wrk-'));
  const logFile = join(dir, 'access.log');
  const logFd = openSync(logFile, 'a');
  const profDir = process.env.HOT_BENCH_PROF ? '/tmp/hotprof' : undefined;
  if (profDir) mkdirSync(profDir, { recursive: true });
  const ask = (m: object) =>
    new Promise<void>((r) => {
      svc.once('message', () => r());
      svc.send(m);
    });
  // The service's stdout (its logs) goes to a file, as an operator's would.
  // `npm start`'s node flags unless HOT_BENCH_NODE_ARGS gives others (' ' for none).
  const nodeArgs =
    process.env.HOT_BENCH_NODE_ARGS === undefined ? startFlags() : process.env.HOT_BENCH_NODE_ARGS.split(' ').filter(Boolean);
  if (nodeArgs.length) report(results, 'service node flags', nodeArgs.join(' '));
  const svc: ChildProcess = fork(self, ['service'], {
    execArgv: [...nodeArgs, '--import', 'tsx'],
    stdio: ['ignore', logFd, 'inherit', 'ipc'],
    env: { ...process.env, LOG_FORMAT: '' },
  });
  const flo: ChildProcess = fork(self, ['floor'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    const t0 = performance.now();
    const ready = await new Promise<Ready>((resolve, reject) => {
      svc.once('message', (m) => resolve(m as Ready));
      svc.once('exit', (code) => reject(new Error(`the service exited with ${code}`)));
    });
    report(results, 'seed (s)', Number(((performance.now() - t0) / 1000).toFixed(1)));
    flo.send(ready);
    const floorUrl = await new Promise<string>((r) => flo.once('message', (m: { url: string }) => r(m.url)));
    const lua = join(dir, 'reqs.lua');
    writeFileSync(lua, WRK_LUA);

    // Request files. getUserInfo: 20,000 volunteers' tokens; get: 100,000 users' bodies.
    const files = {
      getUserInfo: join(dir, 'getUserInfo.tsv'),
      get: join(dir, 'get.tsv'),
    };
    writeFileSync(files.getUserInfo, shuffle(Array.from({ length: 20_000 }, (_, i) => getUserInfoLine(i))).join('\n') + '\n');
    writeFileSync(files.get, shuffle(Array.from({ length: MP_USERS }, (_, i) => miniprogramGetLine(i))).join('\n') + '\n');
    const msgIds = { last: 7_000_000_000_000_000_000n };
    /** Freshly signed messages (the timestamp must be recent), each with its own MsgId and nonce. */
    const webhookFile = async (n: number) => {
      const f = join(dir, 'webhook.tsv');
      await writeWebhookRequests(f, { appid: 'wxhotbenchplain01', token: ready.webhookToken, path: ready.webhookPath }, n, msgIds);
      return f;
    };
    // Enough distinct messages for the run at well above our rate (the floor's was 25-65k/s on
    // this machine): a run that came back to the file's first line would measure WeChat's retries,
    // not new messages, and is refused below.
    const webhookCount = Math.max(50_000, SECONDS * 70_000);

    // Warm-up (JIT, page cache) of both servers on every path.
    for (const f of [files.getUserInfo, files.get]) {
      wrk(ready.url, f, lua, 2);
      wrk(floorUrl, f, lua, 2);
    }
    const warmHooks = await webhookFile(20_000);
    wrk(ready.url, warmHooks, lua, 2);
    wrk(floorUrl, warmHooks, lua, 2);

    const table: Record<string, { floor: WrkResult; ours: WrkResult; ratio: number }> = {};
    const logBytes0 = statSync(logFile).size;
    let oursRequests = 0;
    const only = process.env.HOT_BENCH_ONLY?.split(',');
    for (const name of (['getUserInfo', 'get', 'webhook'] as const).filter((n) => !only || only.includes(n))) {
      const file = name === 'webhook' ? await webhookFile(webhookCount) : files[name];
      const fl = await withCpu(flo, () => wrk(floorUrl, file, lua, SECONDS));
      if (profDir) await ask({ profStart: true });
      const ours = await withCpu(svc, () => wrk(ready.url, file, lua, SECONDS));
      if (profDir) await ask({ profStop: join(profDir, `${name}.cpuprofile`) });
      oursRequests += ours.requests;
      if (name === 'webhook' && ours.requests > webhookCount)
        throw new Error(`webhook: ${ours.requests} requests from ${webhookCount} messages: the run measured retries; give it more`);
      table[name] = { floor: fl, ours, ratio: Number((ours.requestsPerSec / fl.requestsPerSec).toFixed(2)) };
      report(results, name, table[name]);
      if (ours.errors || ours.non2xx) throw new Error(`${name}: ${ours.errors} errors, ${ours.non2xx} non-2xx answers`);
    }
    const logBytes = statSync(logFile).size - logBytes0;
    report(results, 'access log bytes per request', Math.round(logBytes / Math.max(1, oursRequests)));
    const lastLines = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-1);
    report(results, 'access log, last line', lastLines[0] ?? '');
    report(
      results,
      'load average at end',
      loadavg()
        .map((x) => x.toFixed(1))
        .join(' '),
    );

    process.stdout.write(
      '\n| path | bare Fastify req/s (p99 ms) | ours req/s (p99 ms) | ratio | server CPU us/answer, bare -> ours |\n|---|---|---|---|---|\n',
    );
    for (const [name, t] of Object.entries(table)) {
      process.stdout.write(
        `| ${name} | ${t.floor.requestsPerSec} (${t.floor.p99Ms}) | ${t.ours.requestsPerSec} (${t.ours.p99Ms}) | **${t.ratio}** | ${t.floor.cpuUsEach} -> ${t.ours.cpuUsEach} |\n`,
      );
    }
    report(
      results,
      'all ratios >= 0.50',
      Object.values(table).every((t) => t.ratio >= 0.5),
    );
    writeResults('hotpaths', results);
  } finally {
    closeSync(logFd);
    // Either child may have died already (a seeding error): stop what still runs.
    flo.kill();
    if (svc.connected) {
      svc.send('stop');
      await new Promise((r) => svc.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function cpuOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const on = (m: any) => {
      if (m?.cpu) {
        child.off('message', on);
        resolve(m.cpu.user + m.cpu.system);
      }
    };
    child.on('message', on);
    child.send('cpu');
  });
}

async function withCpu(child: ChildProcess, run: () => WrkResult): Promise<WrkResult> {
  const before = await cpuOf(child);
  const r = run();
  const total = r.requestsPerSec * SECONDS;
  return { ...r, cpuUsEach: Math.round(((await cpuOf(child)) - before) / Math.max(1, total)) };
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

if (process.argv[2] === 'service') await service();
else if (process.argv[2] === 'floor') await floor();
else await main();
