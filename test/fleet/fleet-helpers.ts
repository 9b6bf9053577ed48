/**
 * A fleet of real servers (`serve` compiled, test/helpers/server-build.ts) on one PostgreSQL database, for
 * test/fleet and bench/fleet.bench.ts: start, SIGKILL and restart instances (the test plays the
 * process manager), terminate every database connection, tally what the SMTP server received.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../helpers/free-port.js';
import { PG_URL } from '../helpers/db.js';
import { serverArgs } from '../helpers/server-build.js';

export const FLEET_ADMIN = 'fleet-test-admin-token';

export interface Instance {
  name: string;
  port: number;
  child: ChildProcess;
  /** Set when the process exited without the test killing it. */
  diedUnexpectedly?: { code: number | null; signal: NodeJS.Signals | null };
  killedOnPurpose: boolean;
  stderr: string;
}

/** Starts one instance and waits until /healthz answers. */
export async function startInstance(name: string, env: Record<string, string>, port?: number): Promise<Instance> {
  const p = port ?? (await freePort());
  const dataDir = mkdtempSync(join(tmpdir(), `vh-fleet-${name}-`));
  const child = spawn(process.execPath, serverArgs(['serve']), {
    cwd: join(import.meta.dirname, '../..'),
    env: { ...process.env, PORT: String(p), HOST: '127.0.0.1', DATA_DIR: dataDir, ADMIN_TOKEN: FLEET_ADMIN, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const inst: Instance = { name, port: p, child, killedOnPurpose: false, stderr: '' };
  child.stderr!.on('data', (d: Buffer) => {
    inst.stderr = (inst.stderr + d.toString()).slice(-20_000);
  });
  child.once('exit', (code, signal) => {
    if (!inst.killedOnPurpose) inst.diedUnexpectedly = { code, signal };
  });
  const end = Date.now() + 120_000; // generous: a start takes seconds on a busy machine
  for (;;) {
    if (inst.diedUnexpectedly) throw new Error(`instance ${name} exited at start: ${inst.stderr.slice(-2000)}`);
    try {
      if ((await fetch(`http://127.0.0.1:${p}/healthz`)).ok) return inst;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`instance ${name} did not start: ${inst.stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** SIGKILL, waiting for the exit. */
export async function killInstance(inst: Instance): Promise<void> {
  inst.killedOnPurpose = true;
  if (inst.child.exitCode !== null || inst.child.signalCode !== null) return;
  const exited = new Promise((r) => inst.child.once('exit', r));
  inst.child.kill('SIGKILL');
  await exited;
}

/** Terminates every connection to `database` but the caller's (pg_terminate_backend); answers how many. */
export async function terminateConnections(database: string): Promise<number> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const r = await c.query(
      'SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [database],
    );
    return Number(r.rows[0].n);
  } finally {
    await c.end();
  }
}

/** POST to an instance's seed API. */
export async function seedCall(inst: Instance, path: string, body: unknown): Promise<{ code: number; data: any; message?: string }> {
  const res = await fetch(`http://127.0.0.1:${inst.port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await res.json()) as { code: number; data: any };
}

/** An instance's `certificates_notices_sent_total` from /metrics. */
export async function noticesSentBy(inst: Instance): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${inst.port}/metrics`)).text();
  const m = /^certificates_notices_sent_total(?:\{[^}]*\})?\s+(\d+(?:\.\d+)?)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Message-IDs seen by the SMTP server: repeats, distinct recipients. */
export function tally(received: { raw: Buffer; to: string[] }[]) {
  const ids = new Map<string, number>();
  const rcpts = new Map<string, number>();
  for (const m of received) {
    const id = /^Message-ID:\s*(<[^>]+>)/im.exec(m.raw.toString('latin1'))?.[1] ?? '?';
    ids.set(id, (ids.get(id) ?? 0) + 1);
    rcpts.set(m.to[0]!, (rcpts.get(m.to[0]!) ?? 0) + 1);
  }
  return { ids, rcpts, duplicates: [...ids.values()].reduce((n, c) => n + (c - 1), 0) };
}

/** The most messages in any window of `ms` (times sorted ascending). */
export function maxInWindow(times: number[], ms: number): number {
  let best = 0;
  let j = 0;
  for (let i = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/** Running jobs whose lease a process with this pid holds (`locked_by` = host:pid:random). */
export async function jobsHeldBy(url: string, pid: number): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query("SELECT count(*)::int AS n FROM jobs WHERE state = 'running' AND split_part(locked_by, ':', 2) = $1", [
      String(pid),
    ]);
    return Number(r.rows[0].n);
  } finally {
    await c.end();
  }
}

/**
 * The local ports of a process's TCP connections to `port` on loopback (Linux: its socket inodes
 * from /proc/<pid>/fd, their addresses from /proc/net/tcp).
 */
export function tcpPortsTo(pid: number, port: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
    const c = line.trim().split(/\s+/);
    if (c.length < 10 || !inodes.has(c[9]!)) continue;
    if (parseInt(c[2]!.split(':')[1]!, 16) === port) ports.add(parseInt(c[1]!.split(':')[1]!, 16));
  }
  return ports;
}
