/**
 * What the cross-origin policy (platform/http/origins.ts: @fastify/cors with a per-request
 * delegator, the preflight refusal hook and the cross-site check) costs per request, as the
 * server's own CPU time over real HTTP on loopback. Two servers, each in its own process:
 *   floor   a bare Fastify app: a GET answering {"code":0}, a POST answering {"code":200};
 *   policy  the same app with registerOrigins (the GET in a token group, the POST in a session group).
 * Cases: a GET without Origin (same-origin pages, server-to-server), a cross-origin GET of a token
 * API, a same-origin POST of a session route (the cross-site check runs), a preflight. Each
 * round sends a fixed number of requests (autocannon, 8 connections) to the floor, then the
 * policy; figures are the servers' CPU microseconds per answer, the median and the minimum of the
 * rounds (on a shared machine the minimum is the steadier estimate of the intrinsic cost), and the
 * ratio to the floor of the same case in the same run.
 *
 *   npm run bench -- origins      (ORIGINS_BENCH_N=20000 requests per round and server)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import autocannon from 'autocannon';
import { createOriginPolicy, registerOrigins } from '../src/platform/http/origins.js';
import { freePort } from '../test/helpers/free-port.js';
import { report, serverCpu, writeResults } from './lib.js';

const N = Number(process.env.ORIGINS_BENCH_N ?? 20_000);
const ROUNDS = 9;
const PUBLIC = 'http://hub.example';

async function serve(withPolicy: boolean, port: number): Promise<void> {
  const app = Fastify({ logger: false });
  if (withPolicy) {
    await registerOrigins(
      app,
      createOriginPolicy({ publicUrl: PUBLIC, corsOrigins: ['http://app.example'] }, [
        { token: ['/api/getUserInfo'] },
        { session: ['/mongodb/'] },
      ]),
    );
  }
  app.get('/api/getUserInfo', async () => ({ code: 0 }));
  app.post('/mongodb/add', async () => ({ code: 200 }));
  await app.listen({ port, host: '127.0.0.1' });
  process.on('message', (m) => {
    if (m === 'cpu') process.send!({ cpu: process.cpuUsage() });
  });
  process.send!('ready');
}

if (process.argv[2] === 'serve') {
  await serve(process.argv[3] === 'policy', Number(process.argv[4]));
} else {
  const CASES: Record<string, autocannon.Request & { headers?: Record<string, string> }> = {
    get_no_origin: { method: 'GET', path: '/api/getUserInfo?token=abc' },
    get_cross_origin: { method: 'GET', path: '/api/getUserInfo?token=abc', headers: { origin: 'http://app.example' } },
    post_session_same_origin: {
      method: 'POST',
      path: '/mongodb/add',
      headers: { origin: PUBLIC, 'content-type': 'application/json' },
      body: '{"a":"b"}',
    },
    // The floor has no OPTIONS route: its answer is the 404 of a server without CORS.
    preflight: {
      method: 'OPTIONS',
      path: '/api/getUserInfo',
      headers: { origin: 'http://app.example', 'access-control-request-method': 'GET' },
    },
  };
  const start = async (kind: string) => {
    const port = await freePort();
    const child = fork(fileURLToPath(import.meta.url), ['serve', kind, String(port)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((r) => child.once('message', () => r()));
    return { child, url: `http://127.0.0.1:${port}` };
  };
  const cpuPerAnswer = async (s: { child: ChildProcess; url: string }, req: autocannon.Request): Promise<number> => {
    const before = await serverCpu(s.child);
    await autocannon({ url: s.url, connections: 8, amount: N, requests: [req] });
    return ((await serverCpu(s.child)) - before) / N;
  };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const floor = await start('floor');
  const policy = await start('policy');
  const results: Record<string, unknown> = { requestsPerRound: N, rounds: ROUNDS };
  try {
    for (const [name, req] of Object.entries(CASES)) {
      await cpuPerAnswer(floor, req); // warm-up (JIT)
      await cpuPerAnswer(policy, req);
      const a: number[] = [];
      const b: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        a.push(await cpuPerAnswer(floor, req));
        b.push(await cpuPerAnswer(policy, req));
      }
      const f = median(a);
      const p = median(b);
      const fMin = Math.min(...a);
      const pMin = Math.min(...b);
      report(results, name, {
        median: {
          floorUs: Number(f.toFixed(1)),
          policyUs: Number(p.toFixed(1)),
          addedUs: Number((p - f).toFixed(1)),
          ratio: Number((p / f).toFixed(2)),
        },
        min: {
          floorUs: Number(fMin.toFixed(1)),
          policyUs: Number(pMin.toFixed(1)),
          addedUs: Number((pMin - fMin).toFixed(1)),
          ratio: Number((pMin / fMin).toFixed(2)),
        },
      });
    }
  } finally {
    floor.child.kill();
    policy.child.kill();
  }
  writeResults('origins', results);
}
