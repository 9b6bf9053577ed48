/**
 * The real `serve` command (or any CLI command) in its own process, as an operator runs it:
 * `startInstance(env)` spawns it on a free loopback port, `waitHealthy()` polls /healthz,
 * `exited` resolves with the exit code, `output()` is what it printed so far.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { serverArgs } from './server-build.js';

export const ROOT = join(import.meta.dirname, '..', '..');
/** Passes adminTokenWeakness; `serve` refuses weak ones. */
export const STRONG_ADMIN_TOKEN = 'kQ7v-Yb2Lr9xW3nT5sFh8mJd-2Vw';

export interface Instance {
  port: number;
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string | null>;
  /** Undefined while it runs. */
  exitCode(): number | string | null | undefined;
  output(): string;
  /** Resolves once /healthz answers 200; rejects if the process exits first or after `ms`. */
  waitHealthy(ms?: number): Promise<void>;
  /** Sends the signal and waits for the exit (SIGKILL after `ms`). */
  stop(signal?: NodeJS.Signals, ms?: number): Promise<number | string | null>;
}

export function freshDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'vh-inst-'));
}

/** Spawns the service's CLI (`node .test-server/main.js <args>`, server-build.ts) with a clean environment plus `env`. */
export function spawnCli(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, serverArgs(args), {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs a CLI command to its end. */
export async function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawnCli(args, env);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, out };
}

export async function startInstance(env: Record<string, string> = {}, opts: { dataDir?: string } = {}): Promise<Instance> {
  const port = await freePort();
  const dataDir = opts.dataDir ?? freshDataDir();
  const child = spawnCli(['serve'], {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    ADMIN_TOKEN: STRONG_ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    ...env,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  let code: number | string | null | undefined;
  const exited = new Promise<number | string | null>((resolve) =>
    child.on('exit', (c, sig) => {
      code = c ?? sig;
      resolve(code);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const inst: Instance = {
    port,
    url,
    dataDir,
    child,
    exited,
    exitCode: () => code,
    output: () => out,
    async waitHealthy(ms = 90_000) {
      const until = Date.now() + ms;
      for (;;) {
        if (code !== undefined) throw new Error(`instance exited (${code}) before it was healthy:\n${out}`);
        try {
          const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
          if (r.status === 200) return;
        } catch {
          // not listening yet
        }
        if (Date.now() > until) throw new Error(`instance not healthy after ${ms} ms:\n${out}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop(signal = 'SIGTERM', ms = 30_000) {
      if (code !== undefined) return code;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), ms);
      try {
        return await exited;
      } finally {
        clearTimeout(t);
      }
    },
  };
  return inst;
}
