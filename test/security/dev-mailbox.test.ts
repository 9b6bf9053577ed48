/**
 * Issue 10 item 6: the dev mailbox holds every claim link, activation link and recovery code. It
 * needs the admin token (from loopback too: behind a proxy everyone is loopback), the console says
 * when mail goes there, and starting exposed without SMTP warns loudly.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/free-port.js';
import { serverArgs } from '../helpers/server-build.js';

const ADMIN = { authorization: 'Bearer test-admin-token' };

describe.each(testDialects())('the dev mailbox needs the admin token (%s)', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ dialect });
    await t.core.mailer.enqueue({
      to: 'vol@example.org',
      subject: 'Your link',
      html: '<p>link</p>',
      text: 'http://x/certificate?token=secret-claim-link-token',
      messageId: '<devmail.sec.1@x>',
    });
  });
  afterAll(async () => t?.close());

  it('refuses every mailbox route without the token, from loopback too', async () => {
    await expect
      .poll(async () => (await t.app.inject({ url: '/api/v2/dev/mail', headers: ADMIN })).json().items?.length, { timeout: 10_000 })
      .toBe(1);
    const id = (await t.app.inject({ url: '/api/v2/dev/mail', headers: ADMIN })).json().items[0].id;
    for (const url of [
      '/api/v2/dev/mail',
      `/api/v2/dev/mail/${id}`,
      `/api/v2/dev/mail/${id}/raw`,
      `/api/v2/dev/mail/${id}/attachments/0`,
    ]) {
      const res = await t.app.inject({ url, remoteAddress: '127.0.0.1' });
      expect(res.statusCode, url).toBe(401);
      expect(res.body).not.toContain('secret-claim-link-token');
      expect((await t.app.inject({ url, headers: { authorization: 'Bearer not-the-token' } })).statusCode, url).toBe(401);
    }
    expect((await t.app.inject({ method: 'DELETE', url: '/api/v2/dev/mail' })).statusCode).toBe(401);
    const detail = await t.app.inject({ url: `/api/v2/dev/mail/${id}`, headers: ADMIN });
    expect(detail.statusCode).toBe(200);
    expect(detail.json().text).toContain('secret-claim-link-token');
  });

  it('tells the console that mail goes to the dev mailbox', async () => {
    const s = await t.app.inject({ url: '/api/v2/certificates/session', headers: ADMIN });
    expect(s.json()).toEqual({ ok: true, mail: 'dev-mailbox' });
  });
});

describe('starting exposed without SMTP', () => {
  it('warns loudly on stderr before anything else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vh-warn-'));
    // 192.0.2.1 (TEST-NET-1) is no address of this machine: the warning comes first, then listening fails.
    const child = spawn(process.execPath, serverArgs(['serve']), {
      env: {
        ...process.env,
        HOST: '192.0.2.1',
        PORT: String(await freePort()),
        DATA_DIR: dir,
        SMTP_URL: '',
        DATABASE_URL: '',
        LOG_LEVEL: 'silent',
        ADMIN_TOKEN: 'x-admin-token-x',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c) => (err += String(c)));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
    expect(err).toMatch(/\*\*\* WARNING: HOST=192\.0\.2\.1 .*SMTP_URL is not set/);
    expect(err).toMatch(/dev mailbox/);
    expect(code).not.toBe(0);
  });
});
