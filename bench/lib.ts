/** Shared bits for benchmarks: load generation with autocannon and writing results. */
import type { SMTPServerOptions } from 'smtp-server';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import type SQLite from 'better-sqlite3';

const here = dirname(fileURLToPath(import.meta.url));

export interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  total: number;
}

/** Runs autocannon against one request shape for `seconds` with `connections` connections. */
export async function load(opts: autocannon.Options): Promise<LoadResult> {
  const r = await autocannon({ duration: 10, connections: 32, ...opts });
  return {
    requestsPerSec: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    total: r.requests.total,
  };
}

/** Prints a figure line and returns it for the JSON result. */
export function report(results: Record<string, unknown>, name: string, value: unknown): void {
  results[name] = value;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects are JSON; the rest are numbers, strings, booleans
  process.stdout.write(`${name}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}\n`);
}

export function writeResults(name: string, results: Record<string, unknown>): void {
  const dir = join(here, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2));
}

export interface OpenLoadRequest {
  path: string;
  body: string;
  headers?: Record<string, string>;
}

export interface OpenLoadResult extends LoadResult {
  /** Requests the generator meant to send (rate x seconds). */
  scheduled: number;
  p90Ms: number;
  p999Ms: number;
  maxMs: number;
}

/**
 * An open-loop load at a constant rate, as independent senders (WeChat's servers, phones) load a
 * service: request i is due at start + i / rate whatever the earlier answers did, and its latency
 * counts from when it was due (so a generator running late cannot hide queueing: no coordinated
 * omission). autocannon's `overallRate` is not this: each connection sends its share of a second
 * back to back at the top of the second and then waits, so the server sees bursts at full speed
 * and the latency measured is that of saturation.
 * The first `warmupSeconds` (default 1) run at the same rate but are not counted: they open the
 * connections, which costs the first requests a TCP handshake each and is not the steady state.
 * `next()` builds each request (called when it is due); `check` sees each counted answer.
 */
export async function openLoad(opts: {
  url: string;
  rate: number;
  seconds: number;
  next: () => OpenLoadRequest;
  check?: (status: number, body: string) => void;
  /** Most requests in flight at once (sockets); default 256. */
  maxInFlight?: number;
  warmupSeconds?: number;
}): Promise<OpenLoadResult> {
  const { request, Agent } = await import('node:http');
  const target = new URL(opts.url);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.maxInFlight ?? 256 });
  const warmup = Math.round(opts.rate * (opts.warmupSeconds ?? 1));
  const total = warmup + Math.round(opts.rate * opts.seconds);
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let sent = 0;
  let done = 0;
  const start = performance.now();
  let measuredFrom = start;
  const intervalMs = 1000 / opts.rate;
  await new Promise<void>((resolve) => {
    const finish = () => {
      if (++done === total) resolve();
    };
    const send = (dueAt: number, counted: boolean) => {
      const r = opts.next();
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          path: r.path,
          method: 'POST',
          agent,
          headers: { 'content-length': Buffer.byteLength(r.body), ...r.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (counted) {
              latencies.push(performance.now() - dueAt);
              const status = res.statusCode ?? 0;
              if (status < 200 || status >= 300) non2xx++;
              opts.check?.(status, Buffer.concat(chunks).toString('utf8'));
            }
            finish();
          });
        },
      );
      req.on('error', () => {
        if (counted) errors++;
        finish();
      });
      req.end(r.body);
    };
    // Every millisecond or so, send whatever has come due since.
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1);
      while (sent < due) {
        if (sent === warmup) measuredFrom = start + sent * intervalMs;
        send(start + sent * intervalMs, sent >= warmup);
        sent++;
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] * 10) / 10;
  const elapsed = (performance.now() - measuredFrom) / 1000;
  return {
    requestsPerSec: Math.round(latencies.length / elapsed),
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    p99Ms: at(0.99),
    p999Ms: at(0.999),
    maxMs: Math.round(latencies[latencies.length - 1] * 10) / 10,
    errors,
    non2xx,
    total: latencies.length,
    scheduled: total - warmup,
  };
}

/**
 * CPU time (user + system, microseconds) a bench server in a child process has used so far. The
 * server answers the message 'cpu' with `{ cpu: process.cpuUsage() }`.
 */
export function serverCpu(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const on = (m: any) => {
      if (m && m.cpu) {
        child.off('message', on);
        resolve(m.cpu.user + m.cpu.system);
      }
    };
    child.on('message', on);
    child.send('cpu');
  });
}

/**
 * Runs a load and measures the server's CPU time per answer. The machine is shared (2 cores, the
 * load generator among them), so req/s depends on what else runs; the server's own CPU time per
 * answer does not, and 1e6 / that is what one free core would serve.
 */
export async function withServerCpu<R extends LoadResult>(
  child: ChildProcess,
  run: () => Promise<R>,
): Promise<{ result: R; cpuUsEach: number; perSecOneFreeCore: number }> {
  const before = await serverCpu(child);
  const result = await run();
  const cpuUsEach = Math.round(((await serverCpu(child)) - before) / Math.max(1, result.total));
  return { result, cpuUsEach, perSecOneFreeCore: Math.round(1e6 / Math.max(1, cpuUsEach)) };
}

/**
 * A loopback fake of WeChat's server API for a bench service that connects official accounts:
 * connecting one proves its appid and secret with WeChat (an access_token request), so the
 * service's WECHAT_API_BASE points here. It answers /cgi-bin/token for any appid (the bench's
 * secrets are made up); everything else gets the fake's "no handler" error. The check itself
 * runs as in production, over HTTP.
 */
export async function startBenchWechat(): Promise<{ url: string; close(): Promise<void> }> {
  const { startFakeWechat } = await import('../test/helpers/fake-wechat.js');
  const fake = await startFakeWechat();
  fake.on('/cgi-bin/token', () => ({ access_token: `bench-AT-${fake.calls('/cgi-bin/token').length}`, expires_in: 7200 }));
  return fake;
}

/**
 * The environment of a service started by a bench as its own process (`node dist/main.js serve`):
 * loopback only, a fresh SQLite data directory, mail to the bench's SMTP sink, warnings only.
 */
export function benchServiceEnv(o: { port: number; dataDir: string; adminToken: string; smtpPort: number }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PORT: String(o.port),
    HOST: '127.0.0.1',
    DATA_DIR: o.dataDir,
    DATABASE_URL: '',
    ADMIN_TOKEN: o.adminToken,
    SMTP_URL: `smtp://127.0.0.1:${o.smtpPort}`,
    PUBLIC_URL: 'http://bench.test',
    LOG_LEVEL: 'warn',
  };
}

/** The bench SMTP sinks' server options (plain, no auth, many clients); each sink adds its own onData. */
export const SINK_SMTP_OPTIONS: SMTPServerOptions = {
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  maxClients: 200,
};

/**
 * `npm start`'s node flags (its script is `node <flags> dist/main.js serve`): the benches that
 * measure the service run it with them unless told otherwise, as an operator runs it.
 */
export function startFlags(): string[] {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
  const m = /^node((?: \S+)*) dist\/main\.js serve$/.exec(start);
  if (!m) throw new Error(`npm start is not "node <flags> dist/main.js serve": ${start}`);
  return m[1]!.split(' ').filter(Boolean);
}

/**
 * `n` mini-program users written straight into the service's SQLite file (the hotpaths and
 * miniprogram benches): profiles made over three years, as a real mini-program's are (the answer
 * formats both times), each with a session of 30 days whose token hash is `tokenHashOf(i)`.
 */
export function seedMiniprogramUsers(
  sqlite: SQLite.Database,
  n: number,
  openidOf: (i: number) => string,
  tokenHashOf: (i: number) => string,
): void {
  const now = Date.now();
  const since = (i: number) => now - ((i * 7919) % (3 * 365 * 86_400)) * 1000;
  const insertProfile = sqlite.prepare(
    'INSERT INTO miniprogram_profiles (openid, phone, qq, cardno, wxid, created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insertSession = sqlite.prepare(
    'INSERT INTO miniprogram_sessions (token_hash, openid, session_key, created_at, expires_at) VALUES (?, ?, NULL, ?, ?)',
  );
  sqlite.transaction(() => {
    for (let i = 0; i < n; i++) {
      insertProfile.run(
        openidOf(i),
        `138${String(i).padStart(8, '0')}`,
        String(10000 + i),
        `C${i}`,
        i % 2 ? `wx_user_${i}` : '',
        since(i),
        now,
      );
      insertSession.run(tokenHashOf(i), openidOf(i), now, now + 30 * 86400_000);
    }
  })();
}
