/**
 * Issue 14, item 7 (the first minute), as an operator meets it: the real `serve` command in its
 * own process. A weak ADMIN_TOKEN stops it with a reason; a good one starts it with a short
 * banner naming every page's URL, then the logs: readable lines in a terminal (a real pseudo-
 * terminal from util-linux `script`), JSON lines when stdout is a pipe.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/free-port.js';
import { serverArgs } from './helpers/server-build.js';
import { adminTokenWeakness } from '../src/modules/certificates/admin-token.js';

const ROOT = join(import.meta.dirname, '..');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Run {
  stdout: string;
  stderr: string;
  code: number | null;
}

/**
 * Runs `serve` until `until(stdout + stderr)` holds (then stops it with SIGTERM) or it exits.
 * `tty`: under `script`, so the service's stdout is a terminal.
 */
async function serve(env: Record<string, string>, until: (out: string) => boolean, tty = false): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'vh-start-'));
  dirs.push(dir);
  const port = await freePort();
  const fullEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dir,
    DATABASE_URL: '',
    SMTP_URL: '',
    PUBLIC_URL: '',
    LOG_LEVEL: 'info',
    LOG_FORMAT: '',
    ...env,
  };
  const args = serverArgs(['serve']);
  const cmd = [process.execPath, ...args].map((a) => `'${a}'`).join(' ');
  const child = tty
    ? spawn('script', ['-qefc', cmd, '/dev/null'], { cwd: ROOT, env: fullEnv, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(process.execPath, args, { cwd: ROOT, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = { stdout: '', stderr: '', code: null };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not get there in time:\n${run.stdout}\n${run.stderr}`));
    }, 100_000);
    const check = () => {
      if (until(run.stdout + run.stderr)) child.kill('SIGTERM');
    };
    child.stdout.on('data', (d) => {
      run.stdout += d;
      check();
    });
    child.stderr.on('data', (d) => {
      run.stderr += d;
      check();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      run.code = code;
      resolve(run);
    });
  });
}

const STRONG = 'kQ7v-Yb2Lr9xW3nT5sFh8mJd-2Vw';

describe('serve: the first minute', { timeout: 120_000 }, () => {
  it('refuses to start with a weak ADMIN_TOKEN and says why and what to do', async () => {
    const r = await serve({ ADMIN_TOKEN: 'changeme' }, () => false);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ADMIN_TOKEN is too weak');
    expect(r.stderr).toContain('at least 16');
    expect(r.stderr).toContain('remove ADMIN_TOKEN to have one generated');
    expect(r.stdout).not.toContain('volunteer-hub is ready');
  });

  it('judges tokens: short, guessable and random ones', async () => {
    expect(await adminTokenWeakness('changeme')).toMatch(/8 characters/);
    expect(await adminTokenWeakness('test-admin-token')).toMatch(/guessable/);
    expect(await adminTokenWeakness('aaaaaaaaaaaaaaaaaaaaaaaa')).toMatch(/guessable.*repeat/);
    expect(await adminTokenWeakness('passwordpassword1234')).toMatch(/guessable/);
    expect(await adminTokenWeakness(STRONG)).toBeUndefined();
    // Any token the service itself would generate (or `openssl rand -base64 16`) passes.
    const { randomBytes } = await import('node:crypto');
    for (let i = 0; i < 20; i++) expect(await adminTokenWeakness(randomBytes(12).toString('base64url'))).toBeUndefined();
  });

  it('with stdout piped: the banner (every page URL) on stderr, JSON log lines on stdout', async () => {
    const r = await serve({ ADMIN_TOKEN: STRONG }, (out) => out.includes('volunteer-hub is serving') && out.includes('Dev mailbox'));
    const banner = r.stderr;
    for (const path of ['/', '/admin', '/accounts', '/assistant', '/docs', '/dev/mail'])
      expect(banner).toMatch(new RegExp(`http://localhost:\\d+${path.replace('/', '\\/')}(\\s|$)`, 'm'));
    expect(banner).toContain('volunteer-hub is ready at');
    expect(banner).toContain('dev mailbox');
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    expect(lines.some((l) => JSON.parse(l).msg === 'volunteer-hub is serving')).toBe(true);
  });

  it('in a terminal: the banner, then readable log lines instead of JSON', async () => {
    const r = await serve({ ADMIN_TOKEN: STRONG }, (out) => out.includes('volunteer-hub is serving'), true);
    // eslint-disable-next-line no-control-regex -- strips the terminal's colour escapes
    const out = r.stdout.replace(/\u001b\[[0-9;]*m/g, '').replace(/\r/g, '');
    expect(out).toContain('volunteer-hub is ready at');
    expect(out).toMatch(/Organizer console\s+http:\/\/localhost:\d+\/admin/);
    const logLine = out.split('\n').find((l) => l.includes('volunteer-hub is serving'))!;
    expect(logLine).toBeTruthy();
    expect(logLine.trim().startsWith('{')).toBe(false);
    expect(logLine).toMatch(/\d\d:\d\d:\d\d/);
    expect(logLine).toContain('INFO');
    // The banner comes before the logs that follow the start.
    expect(out.indexOf('volunteer-hub is ready at')).toBeLessThan(out.indexOf('volunteer-hub is serving'));
  });
});
