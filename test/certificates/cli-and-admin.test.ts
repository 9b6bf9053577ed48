/**
 * The operator CLI (import of CSV and of the original's TinyDB data.json with its tokens and
 * statuses, count, search, reset, export, backup) and the admin token generated at first start.
 */
import { execFile } from 'node:child_process';
import iconv from 'iconv-lite';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { Command } from 'commander';
import type { Core } from '../../src/platform/core.js';
import { registerCli } from '../../src/modules/certificates/cli.js';
import { buildApp, createAppCore } from '../../src/app.js';
import { hashToken } from '../../src/platform/crypto/tokens.js';
import { testDialects } from '../helpers/db.js';
import { serverArgs } from '../helpers/server-build.js';
import { claimUrlFromReferer, deriveSmtpHost } from '../../src/modules/certificates/campaign-service.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');

describe.runIf(testDialects().includes('sqlite'))('certificates CLI and admin token (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vh-cli-'));
  const env = { ...process.env, DATA_DIR: dir, DATABASE_URL: '', LOG_LEVEL: 'silent', ADMIN_TOKEN: 'cli-admin' };
  /** The real entry point in a child process (slow to start: used once). */
  const spawnCli = async (...args: string[]) =>
    (await run(process.execPath, serverArgs(['certificates', ...args]), { cwd: root, env })).stdout;
  let core: Core | undefined;
  const program = new Command('volunteer-hub').exitOverride();
  registerCli(program, async () => (core ??= await createAppCore(parseConfig({ ...env, PORT: '0' }))));
  /** The same commands in this process, output captured. */
  const cli = async (...args: string[]) => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out.push(String(s));
      return true;
    });
    try {
      await program.parseAsync(['node', 'volunteer-hub', 'certificates', ...args]);
    } finally {
      spy.mockRestore();
    }
    return out.join('');
  };
  afterAll(async () => {
    await core?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports data.json keeping old links and statuses, counts, searches, resets, exports, backs up', async () => {
    const data = {
      _default: {
        '1': { email: 'Old1@example.org', name: '张三', token: 'old-token-one', number: 'A-1', status: 1 },
        '2': { email: 'old2@example.org', name: '', token: 'old-token-two', number: 'A-2', status: 4 },
        '3': { email: 'not an email', name: 'x', token: 't3', number: 'A-3', status: 0 },
      },
    };
    writeFileSync(join(dir, 'data.json'), JSON.stringify(data));
    writeFileSync(
      join(dir, 'more.csv'),
      'email,number,name\nnew1@example.org,B-1\nnew2@example.org,B-2,Li Si\nold2@example.org\nbad line\n',
    );
    expect(await spawnCli('import', join(dir, 'data.json'))).toContain('added 2, duplicates 0, rejected 1');
    const more = await cli('import', join(dir, 'more.csv'));
    expect(more).toContain('added 2, duplicates 1, rejected 1');
    // Line numbers are the file's (the header counts).
    expect(more).toContain('line 5: not a valid email address: bad line');
    expect(await cli('search', 'old1@')).toContain('status 1');
    const count = await spawnCli('count');
    expect(count).toMatch(/^0 imported\s+2$/m);
    expect(count).toMatch(/^1 notice sent\s+1$/m);
    expect(count).toMatch(/^4 certificate mailed\s+1$/m);
    expect(await cli('search', 'old1')).toMatch(/old1@example\.org\tstatus 1\tA-1\t张三/);
    expect(await cli('reset', 'old2@example.org', '--status', '0')).toContain('status 4 -> 0');
    // Back to 2 with a name: the certificate is rendered and mailed again (a deliver job is queued).
    expect(await cli('reset', 'old1@example.org', '--status', '2')).toContain('status 1 -> 2');
    const jobs = await core!.db.selectFrom('jobs').select(['kind', 'payload']).where('kind', '=', 'certificates.deliver').execute();
    expect(jobs).toHaveLength(1);
    await cli('export', join(dir, 'out.csv'));
    const csv = readFileSync(join(dir, 'out.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(5);
    expect(csv[1]).toMatch(/^old1@example\.org,A-1,张三,2,,[A-Za-z0-9_-]{22}$/);
    await cli('backup', join(dir, 'backup.sqlite'));
    expect(existsSync(join(dir, 'backup.sqlite'))).toBe(true);

    // The old link still works: only its hash was stored.
    const app = await buildApp(core!);
    const res = await app.inject({ method: 'GET', url: '/api/getUserInfo?token=old-token-two' });
    // Reset to 0 keeps the link the volunteer holds (issue 14 item 3): it opens their page again.
    expect(res.json()).toMatchObject({ code: 0, data: { email: 'old2@example.org' } });
    const res1 = await app.inject({ method: 'GET', url: '/api/v2/certificates/claim?token=old-token-one' });
    expect(res1.json()).toMatchObject({ email: 'old1@example.org', name: '张三', status: 2, claimed: true });
    const row = await core!.db
      .selectFrom('recipients')
      .select('token_hash')
      .where('email', '=', 'old1@example.org')
      .executeTakeFirstOrThrow();
    expect(row.token_hash).toBe(hashToken('old-token-one'));
    await app.close();
  }, 90_000);

  it('generates the admin token at first start, prints it once, stores only its hash', async () => {
    const d = mkdtempSync(join(tmpdir(), 'vh-admin-'));
    const cfg = parseConfig({ DATA_DIR: d, LOG_LEVEL: 'silent', PORT: '0' });
    const writes: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      writes.push(String(s));
      return true;
    });
    try {
      const core = await createAppCore(cfg);
      const app = await buildApp(core);
      const line = writes.join('').match(/ADMIN_TOKEN=([A-Za-z0-9_-]+)/);
      expect(line).not.toBeNull();
      const token = line![1];
      expect(token.length).toBeGreaterThanOrEqual(43);
      const stored = await core.db
        .selectFrom('settings' as never)
        .selectAll()
        .execute();
      expect(JSON.stringify(stored)).not.toContain(token);
      expect(JSON.stringify(stored)).toContain(hashToken(token));
      const ok = await app.inject({ method: 'POST', url: '/api/email', payload: { token, action: 'query' } });
      expect(ok.json().code).toBe(0);
      await app.close();
      await core.close();
      writes.length = 0;
      const core2 = await createAppCore(cfg);
      const app2 = await buildApp(core2);
      expect(writes.join('')).not.toContain('ADMIN_TOKEN=');
      await app2.close();
      await core2.close();
    } finally {
      spy.mockRestore();
      rmSync(d, { recursive: true, force: true });
    }
    // The same reader as the console's (issue 14 item 4): a GBK file with `;` from Excel in China.
    writeFileSync(join(dir, 'gbk.csv'), iconv.encode('邮箱;姓名\r\nzhou@example.org;周杰\r\n', 'gbk'));
    const gbk = await cli('import', join(dir, 'gbk.csv'));
    expect(gbk).toContain('read as CSV, encoding gb18030, separator ;');
    expect(gbk).toContain('added 1, duplicates 0, rejected 0');
    expect(await cli('search', 'zhou@')).toContain('周杰');
  });

  it('derives the SMTP host and the claim page address as the original did', () => {
    expect(deriveSmtpHost('someone@163.com')).toBe('smtp.163.com');
    expect(deriveSmtpHost('nobody')).toBeUndefined();
    expect(claimUrlFromReferer('https://community.example.org/zh-cn/certification/admin.html?x=1', 'http://localhost:5000')).toBe(
      'https://community.example.org/zh-cn/certification/index.html',
    );
    expect(claimUrlFromReferer('http://localhost:5000/web/console', 'http://localhost:5000')).toBeUndefined();
    expect(claimUrlFromReferer('javascript:alert(1)', 'http://localhost:5000')).toBeUndefined();
  });
});
