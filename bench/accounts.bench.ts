/**
 * Accounts on SQLite. The server runs in a child process (autocannon must not share its event
 * loop); figures:
 * - address list (GET /v1/users/<u>/address, 5 addresses, token check) alone: requests/s
 *   (target >= 5,000/s) and p99, next to the floor of the HTTP stack (a 404 on the same server);
 * - login (POST /v1/tokens, argon2id 19 MiB, t=2, p=1) at full load: logins/s and p99;
 * - both at once: address list p99 (target < 20 ms) WHILE logins run at full load: the hashing
 *   runs on libuv's thread pool, so the event loop keeps answering.
 * The machine is shared and autocannon takes a core of its own, so next to wall-clock figures each
 * phase also reports the server's CPU time per request (process.cpuUsage of the server process:
 * what one request costs, whatever else runs) and the server's event-loop delay p99 (how long any
 * request waited for the loop: the part of latency the server itself is responsible for).
 *
 *   npm run bench -- accounts        (ACCOUNTS_BENCH_SECONDS=10 to tune)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { load, report, writeResults } from './lib.js';

const SECONDS = Number(process.env.ACCOUNTS_BENCH_SECONDS ?? 10);
const USERS = 20;
const PASSWORD = 'bench passphrase long enough';

interface Ready {
  url: string;
  tokens: string[];
}

if (process.argv[2] === 'serve') {
  await serve();
} else {
  await main();
}

async function serve() {
  const { startTestApp } = await import('../test/helpers/app.js');
  const { createAccountsService } = await import('../src/modules/accounts/index.js');
  const t = await startTestApp({ dialect: 'sqlite', env: { LOG_LEVEL: 'warn', PUBLIC_URL: 'http://bench.test' } });
  const svc = createAccountsService({ db: t.core.db, dialect: t.core.dialect, now: t.core.now });
  const url = await t.listen();
  const tokens: string[] = [];
  for (let i = 0; i < USERS; i++) {
    const u = await svc.createUser({ username: `bench${i}`, email: `bench${i}@example.org`, password: PASSWORD, isActive: true });
    const { token } = await svc.createSession(u.id, 'web');
    tokens.push(token);
    for (let a = 0; a < 5; a++) {
      await fetch(`${url}/v1/users/bench${i}/address`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: token },
        body: JSON.stringify({
          receiver: `收件人${a}`,
          receiver_phone: `1391234567${a}`,
          address: `北京市东城区珍贝大厦${a}楼`,
          postcode: '100000',
          tag: '家',
        }),
      });
    }
  }
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  let loop = monitorEventLoopDelay({ resolution: 1 });
  let cpu = process.cpuUsage();
  process.send!({ url, tokens } satisfies Ready);
  process.on('message', async (m: { stop?: boolean; mark?: boolean; read?: boolean }) => {
    if (m.mark) {
      loop.disable();
      loop = monitorEventLoopDelay({ resolution: 1 });
      loop.enable();
      cpu = process.cpuUsage();
      process.send!({ marked: true });
    }
    if (m.read) {
      loop.disable();
      const used = process.cpuUsage(cpu);
      process.send!({ cpuMs: (used.user + used.system) / 1000, loopP99Ms: loop.percentile(99) / 1e6, loopMaxMs: loop.max / 1e6 });
    }
    if (m.stop) {
      await t.close();
      process.exit(0);
    }
  });
}

/** Asks the server process for something and waits for its answer. */
function ask<T>(child: ChildProcess, msg: object): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as T));
    child.send(msg);
  });
}

interface ServerSide {
  cpuMs: number;
  loopP99Ms: number;
  loopMaxMs: number;
}

/** Runs a phase between a mark and a read of the server's CPU time and event-loop delay. */
async function phase<T>(child: ChildProcess, run: () => Promise<T>): Promise<{ out: T; server: ServerSide }> {
  await ask(child, { mark: true });
  const out = await run();
  const server = await ask<ServerSide>(child, { read: true });
  return { out, server };
}

function perRequest(server: ServerSide, requests: number) {
  return {
    serverCpuUsPerRequest: Math.round((server.cpuMs * 1000) / Math.max(1, requests)),
    // What one dedicated core would serve at that cost (the event loop is one thread).
    impliedOneCoreRps: Math.round(requests / Math.max(1e-9, server.cpuMs / 1000)),
    serverLoopDelayP99Ms: Number(server.loopP99Ms.toFixed(2)),
    serverLoopDelayMaxMs: Number(server.loopMaxMs.toFixed(2)),
  };
}

async function main() {
  const results: Record<string, unknown> = { cores: availableParallelism(), seconds: SECONDS, argon2: 'argon2id m=19456 KiB t=2 p=1' };
  const child = fork(fileURLToPath(import.meta.url), ['serve'], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  const ready = await new Promise<Ready>((resolve) => child.on('message', (m: Ready) => resolve(m)));
  const { url, tokens } = ready;
  let n = 0;
  const addressRequest = () => {
    const i = n++ % USERS;
    return { method: 'GET' as const, path: `/v1/users/bench${i}/address`, headers: { authorization: tokens[i] } };
  };
  const loginRequest = () => {
    const i = n++ % USERS;
    return {
      method: 'POST' as const,
      path: '/v1/tokens',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: `bench${i}`, password: PASSWORD }),
    };
  };
  try {
    // Sanity: both shapes answer code 200.
    const a = (await (await fetch(`${url}/v1/users/bench0/address`, { headers: { authorization: tokens[0] } })).json()) as {
      code: number;
      addresslist: unknown[];
    };
    const l = (await (
      await fetch(`${url}/v1/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'bench0', password: PASSWORD }),
      })
    ).json()) as { code: number };
    if (a.code !== 200 || a.addresslist.length !== 5 || l.code !== 200)
      throw new Error(`bad answers: ${JSON.stringify(a)} ${JSON.stringify(l)}`);

    // The floor of this machine's HTTP stack at this moment: an unknown path (routing and a small
    // JSON 404, no database), same connections. The address list cannot beat it.
    const floor = await phase(child, () =>
      load({ url, duration: SECONDS, connections: 32, requests: [{ method: 'GET', path: '/v1/users/bench0/nothing-here' }] }),
    );
    report(results, 'http_floor_404', { ...floor.out, ...perRequest(floor.server, floor.out.total) });
    const alone = await phase(child, () =>
      load({ url, duration: SECONDS, connections: 32, requests: [{ setupRequest: (r) => ({ ...r, ...addressRequest() }) }] }),
    );
    report(results, 'address_list_alone', { ...alone.out, ...perRequest(alone.server, alone.out.total) });
    const logAlone = await phase(child, () =>
      load({ url, duration: SECONDS, connections: 16, requests: [{ setupRequest: (r) => ({ ...r, ...loginRequest() }) }] }),
    );
    report(results, 'login_alone', {
      ...logAlone.out,
      serverCpuMsPerLogin: Math.round(logAlone.server.cpuMs / Math.max(1, logAlone.out.total)),
    });
    const mixed = await phase(child, () =>
      Promise.all([
        load({ url, duration: SECONDS, connections: 16, requests: [{ setupRequest: (r) => ({ ...r, ...loginRequest() }) }] }),
        // A steady, realistic lookup rate (not saturation) so its latency shows the event loop's health.
        load({
          url,
          duration: SECONDS,
          connections: 4,
          overallRate: 400,
          requests: [{ setupRequest: (r) => ({ ...r, ...addressRequest() }) }],
        }),
      ]),
    );
    const [logins, lookups] = mixed.out;
    report(results, 'login_under_mixed_load', logins);
    report(results, 'address_list_while_logins_at_full_load', {
      ...lookups,
      serverLoopDelayP99Ms: Number(mixed.server.loopP99Ms.toFixed(2)),
      serverLoopDelayMaxMs: Number(mixed.server.loopMaxMs.toFixed(2)),
    });
    report(results, 'machine', {
      loadavg1m: (await import('node:os')).loadavg()[0].toFixed(2),
      note: 'load average at the end; the machine is shared',
    });
    report(results, 'targets', {
      address_list_rps_ge_5000: (results.address_list_alone as { requestsPerSec: number }).requestsPerSec >= 5000,
      address_p99_lt_20ms_during_logins: lookups.p99Ms < 20,
    });
    writeResults('accounts', results);
  } finally {
    child.send({ stop: true });
  }
}
