/**
 * Mini-program user API under load (SQLite, one server process): 100,000 registered users, each
 * with a session, seeded in bulk; then `get` and `addHistory` from 32 connections, each request
 * for a random user with that user's token (so every request pays the real token check).
 * Targets (issue 5): get >= 8,000 req/s with p99 < 20 ms; addHistory >= 3,000 req/s.
 *
 * The server runs in a child process so that autocannon does not share its event loop.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load, report, seedMiniprogramUsers, withServerCpu, writeResults } from './lib.js';

const USERS = Number(process.env.MP_BENCH_USERS ?? 100_000);
const SECONDS = Number(process.env.MP_BENCH_SECONDS ?? 10);

const openidOf = (i: number) => `oBench${String(i).padStart(22, '0')}`;
/** Deterministic per-user tokens so parent and server agree without shipping 100k secrets. */
const tokenOf = (i: number) => createHash('sha256').update(`mp-bench-token-${i}`).digest('base64url');

async function server(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vh-mp-bench-'));
  const { parseConfig } = await import('../src/config.js');
  const { buildApp, createAppCore } = await import('../src/app.js');
  const { hashToken } = await import('../src/platform/crypto/tokens.js');
  const config = parseConfig({ DATA_DIR: dataDir, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', PORT: '0' });
  const core = await createAppCore(config);
  const sqlite = core.handle.sqlite!;
  const t0 = performance.now();
  seedMiniprogramUsers(sqlite, USERS, openidOf, (i) => hashToken(tokenOf(i)));
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  const seedMs = Math.round(performance.now() - t0);
  const app = await buildApp(core);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  // The floor: a bare Fastify route answering a profile-sized constant, in this same process, to
  // tell what the machine allows right now from what the module costs.
  const { default: Fastify } = await import('fastify');
  const floorApp = Fastify();
  const constant = {
    code: 0,
    msg: 'success',
    data: {
      id: 1,
      openid: openidOf(1),
      phone: '13800000001',
      qq: '10001',
      cardno: 'C1',
      wxid: 'wx_user_1',
      created_at: '2026-01-01 00:00:00',
      modified_at: '2026-01-01 00:00:00',
    },
  };
  floorApp.post('/floor', async () => constant);
  await floorApp.listen({ port: 0, host: '127.0.0.1' });
  const floorPort = (floorApp.server.address() as { port: number }).port;
  process.send!({ url: `http://127.0.0.1:${port}`, floorUrl: `http://127.0.0.1:${floorPort}`, seedMs });
  process.on('message', async (m) => {
    if (m === 'cpu') process.send!({ cpu: process.cpuUsage() });
    if (m === 'stop') {
      await floorApp.close();
      await app.close();
      await core.close();
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    }
  });
}

/** Load figures plus the server's CPU time per request (see withServerCpu). */
async function measured(child: import('node:child_process').ChildProcess, run: () => Promise<import('./lib.js').LoadResult>) {
  const m = await withServerCpu(child, run);
  return { ...m.result, serverCpuUsPerRequest: m.cpuUsEach, projectedReqPerSecOneFreeCore: m.perSecOneFreeCore };
}

async function main(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, MP_BENCH_SERVER: '1' },
    execArgv: ['--import', 'tsx', ...(process.env.MP_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/mpprof'] : [])],
  });
  const ready = await new Promise<{ url: string; floorUrl: string; seedMs: number }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { url: string; floorUrl: string; seedMs: number }));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  const results: Record<string, unknown> = { users: USERS, connections: 32, seconds: SECONDS };
  // The machine is shared: its load says how far the figures below are from a quiet machine's.
  report(
    results,
    'load average at start',
    loadavg()
      .map((x) => x.toFixed(1))
      .join(' '),
  );
  report(results, 'seed users + sessions (ms)', ready.seedMs);

  // Every user's request body, built once: the load generator shares the 2 cores with the server,
  // so it must not spend a SHA-256 and a JSON.stringify on each request it sends.
  const bodies = Array.from({ length: USERS }, (_, i) => JSON.stringify({ openid: openidOf(i), token: tokenOf(i) }));
  const randomUser = (req: any, term?: string) => {
    const body = bodies[Math.floor(Math.random() * USERS)];
    req.body = term === undefined ? body : `${body.slice(0, -1)},"hist":${JSON.stringify(term)}}`;
    return req;
  };
  // Seed codes travel in HTTP 200 answers: count every answer that is not code 0.
  const failures = { n: 0 };
  const onResponse = (_status: number, body: string) => {
    if (!body.startsWith('{"code":0,')) failures.n++;
  };
  const common = {
    url: ready.url,
    connections: 32,
    duration: SECONDS,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json' },
  };

  // Warm up (JIT, page cache) before measuring.
  await load({
    ...common,
    duration: 2,
    requests: [{ method: 'POST', path: '/service/user/get', setupRequest: (r: any) => randomUser(r) }],
  });
  const floor = await measured(child, () =>
    load({ ...common, url: ready.floorUrl, requests: [{ method: 'POST', path: '/floor', setupRequest: (r: any) => randomUser(r) }] }),
  );
  report(results, 'floor: bare Fastify route, same machine, same moment', floor);
  failures.n = 0;
  const get = await measured(child, () =>
    load({ ...common, requests: [{ method: 'POST', path: '/service/user/get', setupRequest: (r: any) => randomUser(r), onResponse }] }),
  );
  report(results, 'get', get);
  report(results, 'get answers with code != 0', failures.n);
  const getFailures = failures.n;
  failures.n = 0;

  const terms = ['志愿者', 'library', 'volunteer hours', '支教', 'blood donation', 'marathon', '社区服务', 'tree planting'];
  const add = await measured(child, () =>
    load({
      ...common,
      requests: [
        {
          method: 'POST',
          path: '/service/user/addHistory',
          setupRequest: (r: any) => randomUser(r, terms[Math.floor(Math.random() * terms.length)]),
          onResponse,
        },
      ],
    }),
  );
  report(results, 'addHistory', add);
  report(results, 'addHistory answers with code != 0', failures.n);

  // A sanity check that the load was answered with the envelope's success code, not errors.
  const check = await fetch(`${ready.url}/service/user/get`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ openid: openidOf(7), token: tokenOf(7) }),
  });
  const body = (await check.json()) as { code: number };
  report(results, 'sample get code', body.code);

  report(
    results,
    'load average at end',
    loadavg()
      .map((x) => x.toFixed(1))
      .join(' '),
  );
  report(results, 'get target met (>= 8000 req/s, p99 < 20 ms)', get.requestsPerSec >= 8000 && get.p99Ms < 20);
  report(results, 'addHistory target met (>= 3000 req/s)', add.requestsPerSec >= 3000);
  writeResults('miniprogram', results);
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  if (body.code !== 0 || getFailures || failures.n || get.errors || get.non2xx || add.errors || add.non2xx) process.exit(1);
}

if (process.env.MP_BENCH_SERVER === '1') await server();
else await main();
