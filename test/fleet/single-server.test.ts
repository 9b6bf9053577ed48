/**
 * Issue 11, item 8, with real processes: one server per SQLite database. A second `serve` on the
 * same DATA_DIR is refused with a clear message, also from another PID namespace with the same
 * hostname (where a pid check would see the first as dead); the operator's commands work beside
 * the running server; after the server dies (SIGKILL) the next one starts at once, even when the
 * holder file names a live pid on this host (nothing trusts hostname + pid). Issue 10, item 7
 * (part): the database files and backups are created 0600.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDataDir, ROOT, runCli, startInstance, STRONG_ADMIN_TOKEN, type Instance } from '../helpers/instance.js';
import { freePort } from '../helpers/free-port.js';
import { serverArgs } from '../helpers/server-build.js';

const dataDir = freshDataDir();
const env = (extra: Record<string, string> = {}) => ({
  DATA_DIR: dataDir,
  ADMIN_TOKEN: STRONG_ADMIN_TOKEN,
  LOG_LEVEL: 'warn',
  LOG_FORMAT: 'json',
  HOST: '127.0.0.1',
  ...extra,
});
const running: Instance[] = [];
let first: Instance;

beforeAll(async () => {
  first = await startInstance({}, { dataDir });
  running.push(first);
  await first.waitHealthy();
}, 120_000);

afterAll(async () => {
  await Promise.all(running.map((i) => i.stop('SIGKILL')));
  rmSync(dataDir, { recursive: true, force: true });
});

const canUnshare = spawnSync('unshare', ['-p', '-f', 'true']).status === 0;

describe('one server per SQLite database (issue 11.8)', { timeout: 180_000 }, () => {
  it('refuses a second server on the same DATA_DIR with a clear message naming the first', async () => {
    const second = await startInstance({}, { dataDir });
    running.push(second);
    expect(await second.exited).toBe(2);
    expect(second.output()).toContain('Refusing to start: another volunteer-hub server is already running');
    expect(second.output()).toContain(`pid ${first.child.pid}`);
    expect(second.output()).toContain('Operator commands (import, export, send, backup, ...) work beside the running server');
    // The first one is untouched.
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
  });

  it.skipIf(!canUnshare)('refuses it from another PID namespace with the same hostname too', async () => {
    const port = await freePort();
    const r = spawnSync('unshare', ['-p', '-f', process.execPath, ...serverArgs(['serve'])], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env({ PORT: String(port) }) },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('another volunteer-hub server is already running');
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
  });

  it("runs the operator's commands beside the running server", async () => {
    const csv = join(dataDir, 'people.csv');
    writeFileSync(csv, 'ada@example.org\nbob@example.org\n');
    const imported = await runCli(['certificates', 'import', csv], env());
    expect(imported.code, imported.out).toBe(0);
    expect(imported.out).toContain('added 2');
    const count = await runCli(['certificates', 'count'], env());
    expect(count.code, count.out).toBe(0);
    expect(count.out).toMatch(/0 imported\s+2/);
    const backup = join(dataDir, 'backup.sqlite');
    const b = await runCli(['certificates', 'backup', backup], env());
    expect(b.code, b.out).toBe(0);
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    // The server sees what the command wrote.
    const r = await fetch(`${first.url}/api/v2/certificates/campaigns`, { headers: { authorization: `Bearer ${STRONG_ADMIN_TOKEN}` } });
    expect(r.status).toBe(200);
  });

  it('creates the database files readable by their owner only (issue 10.7)', () => {
    const files = readdirSync(dataDir).filter((f) => /\.sqlite(-wal|-shm)?$|\.lock$/.test(f));
    expect(files).toContain('volunteer-hub.sqlite');
    for (const f of files) expect({ f, mode: (statSync(join(dataDir, f)).mode & 0o777).toString(8) }).toEqual({ f, mode: '600' });
  });

  it('starts the next server at once after the first is killed, whatever pid the holder file names', async () => {
    expect(await first.stop('SIGKILL')).toBe('SIGKILL');
    // A holder file naming a live process on this host (this test runner): a hostname + pid check
    // would believe the lock is held; the OS lock is free, and that is what counts.
    writeFileSync(
      join(dataDir, 'volunteer-hub.sqlite.lock.json'),
      JSON.stringify({ pid: process.pid, hostname: hostname(), command: 'volunteer-hub serve', startedAt: new Date().toISOString() }),
    );
    const next = await startInstance({}, { dataDir });
    running.push(next);
    await next.waitHealthy();
    const again = await startInstance({}, { dataDir });
    running.push(again);
    expect(await again.exited).toBe(2);
    expect(again.output()).toContain(`pid ${next.child.pid}`);
  });
});
