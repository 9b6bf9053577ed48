/**
 * Must-show 2: the real server (`serve` in its own process, compiled: test/helpers/server-build.ts) is killed with SIGKILL in
 * the middle of mailing 2,000 volunteers, then restarted: every volunteer ends up mailed, none is
 * lost, and repeats are visible by Message-ID (counted and logged; the aim is zero, at most the
 * notices in flight at the moment of the kill).
 * Also the graceful stop (SIGTERM): in-flight notices finish and are recorded, the job is released
 * (the restart takes it up at once, no lease to wait for), and nothing is mailed twice.
 * SQLite only: the restart waits for the dead process's job lease (30 s) to expire, and the test
 * must stay well under a minute.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { freePort } from '../helpers/free-port.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSmtpServer, type TestSmtpServer } from '../platform/smtp-server.js';
import { testDialects } from '../helpers/db.js';
import { waitFor } from './helpers.js';
import { serverArgs } from '../helpers/server-build.js';

const ADMIN = 'crash-test-admin-token';
const N = 2000;

describe.runIf(testDialects().includes('sqlite'))('certificates: SIGKILL in the middle of mailing (SQLite)', () => {
  let smtp: TestSmtpServer;
  let child: ChildProcess | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'vh-crash-'));
  const dataDir2 = mkdtempSync(join(tmpdir(), 'vh-term-'));
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await smtp?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(dataDir2, { recursive: true, force: true });
  });

  /** Message-IDs seen by the SMTP server: distinct ids, repeats, distinct recipients. */
  function tally(received: { raw: Buffer; to: string[] }[]) {
    const ids = new Map<string, number>();
    const rcpts = new Set<string>();
    for (const m of received) {
      const id = /^Message-ID:\s*(<[^>]+>)/im.exec(m.raw.toString('latin1'))?.[1] ?? '?';
      ids.set(id, (ids.get(id) ?? 0) + 1);
      rcpts.add(m.to[0]);
    }
    return { ids, rcpts, duplicates: [...ids.values()].reduce((n, c) => n + (c - 1), 0) };
  }

  async function startServer(port: number, dir = dataDir): Promise<ChildProcess> {
    const p = spawn(process.execPath, serverArgs(['serve']), {
      cwd: join(import.meta.dirname, '../..'),
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: dir,
        DATABASE_URL: '',
        ADMIN_TOKEN: ADMIN,
        SMTP_URL: smtp.url,
        PUBLIC_URL: 'http://vh.test',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitFor(
      async () => {
        try {
          return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
        } catch {
          return false;
        }
      },
      90_000,
      'server start',
    ); // generous: a start takes seconds on a busy machine
    return p;
  }

  const call = async (port: number, path: string, body: unknown) =>
    (await (
      await fetch(`http://127.0.0.1:${port}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    ).json()) as { code: number; data: any };

  it('ends with every volunteer mailed after a SIGKILL and a restart', async () => {
    smtp = await startSmtpServer();
    const port = await freePort();
    child = await startServer(port);
    const lines = Array.from({ length: N }, (_, i) => `v${i}@example.org,NO-${i}`);
    expect((await call(port, '/api/addUserData', { token: ADMIN, email: lines })).data.added).toBe(N);
    expect((await call(port, '/api/email', { token: ADMIN, action: 'send' })).data.queued).toBe(N);
    await waitFor(() => smtp.received.length >= 300, 90_000, 'mailing to be under way');
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    const atKill = smtp.received.length;
    expect(atKill).toBeLessThan(N);

    child = await startServer(port);
    const q = await waitFor(
      async () => {
        const r = await call(port, '/api/email', { token: ADMIN, action: 'query' });
        return r.data.sending === false && r.data.counts['0'] === 0 ? r.data : undefined;
      },
      120_000,
      'mailing to finish after the restart',
    );
    expect(q.counts['1']).toBe(N);
    expect(q.failed.count).toBe(0);

    const { ids, rcpts, duplicates } = tally(smtp.received);
    process.stdout.write(
      `crash test: ${atKill} notices before SIGKILL, ${smtp.received.length} received in all, ${duplicates} duplicate(s) by Message-ID\n`,
    );
    // None lost: every volunteer received a notice; repeats carry the same Message-ID (so they are visible).
    expect(rcpts.size).toBe(N);
    expect(ids.size).toBe(N);
    // At most the notices in flight (16) when the process died; 0 in our runs.
    expect(duplicates).toBeLessThanOrEqual(16);
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
  }, 360_000);

  it('SIGTERM in the middle of mailing: in-flight notices finish and are recorded, the restart goes on at once, no repeats', async () => {
    const M = 600;
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await smtp?.close();
    smtp = await startSmtpServer();
    const port = await freePort();
    child = await startServer(port, dataDir2);
    const lines = Array.from({ length: M }, (_, i) => `t${i}@example.org`);
    expect((await call(port, '/api/addUserData', { token: ADMIN, email: lines })).data.added).toBe(M);
    expect((await call(port, '/api/email', { token: ADMIN, action: 'send' })).data.queued).toBe(M);
    await waitFor(() => smtp.received.length >= 50, 90_000, 'mailing to be under way');
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    // A graceful stop: exit code 0, not the 30 s forced exit.
    expect(await exited).toBe(0);
    const atStop = smtp.received.length;
    expect(atStop).toBeLessThan(M);

    // The stopped job was released, not left leased: the restart takes it up without waiting.
    child = await startServer(port, dataDir2);
    const q = await waitFor(
      async () => {
        const r = await call(port, '/api/email', { token: ADMIN, action: 'query' });
        return r.data.sending === false && r.data.counts['0'] === 0 ? r.data : undefined;
      },
      90_000,
      'mailing to finish after the restart',
    );
    expect(q.counts['1']).toBe(M);
    const { ids, rcpts, duplicates } = tally(smtp.received);
    process.stdout.write(
      `graceful stop: ${atStop} notices before SIGTERM, ${smtp.received.length} received in all, ${duplicates} duplicate(s)\n`,
    );
    expect(rcpts.size).toBe(M);
    expect(ids.size).toBe(M);
    // Everything accepted before the stop was recorded: nothing is mailed twice.
    expect(duplicates).toBe(0);
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
  }, 300_000);
});
