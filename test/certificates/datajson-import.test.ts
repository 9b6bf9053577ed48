/**
 * Migration from the original project: its TinyDB data.json (config/data.json's shape:
 * {"_default": {"1": {name, email, token, number, status}}}) imported with the operator CLI
 * (`certificates import data.json`). Every volunteer is imported or reported with a reason; the
 * original's short links (its own sample's `token0`, `token1`) keep working; tokens equal to the
 * email (the original's `gen_token(email)` before a notice went out) are dropped, and those
 * volunteers get fresh links with their first notice; a token clash never drops a volunteer;
 * volunteers the original left at 2 or 3 get their certificate, as its cron would have retried.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerCli } from '../../src/modules/certificates/cli.js';
import { hashToken } from '../../src/platform/crypto/tokens.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { startSmtpServer, type TestSmtpServer } from '../platform/smtp-server.js';
import { ADMIN, parseMail, seedGet, seedPost, tokenFromNotice, waitFor } from './helpers.js';

/** A data.json as the original wrote it: its two sample rows first, then what a real run leaves behind. */
const DATA = {
  _default: {
    '1': { name: 'Rebecca Salazar', email: 'kevin18@briggs-hernandez.com', token: 'token0', number: 'wuhan2020010663', status: 1 },
    '2': { name: 'Rebecca Salazar', email: 'muxxs@foxmail.com', token: 'token1', number: '0', status: 1 },
    // Imported by the original's addUserData and never notified: token = email.
    '3': { name: '', email: 'fresh@example.org', token: 'fresh@example.org', number: 'W-3', status: 0 },
    // Notified with the email as the token (the original's jobs.py mailed user['token'] as it was).
    '4': { name: '', email: 'Notified@Example.org', token: 'notified@example.org', number: 'W-4', status: 1 },
    // Submitted, rendered, mailed: the original's cron would retry 2 and 3.
    '5': { name: '张三', email: 'submitted@example.org', token: '6f1c2d3e-0000-4000-8000-000000000005', number: 'W-5', status: 2 },
    '6': { name: '李四', email: 'rendered@example.org', token: '6f1c2d3e-0000-4000-8000-000000000006', number: 'W-6', status: 3 },
    '7': { name: '王五', email: 'done@example.org', token: '6f1c2d3e-0000-4000-8000-000000000007', number: 'W-7', status: 4 },
    // Two volunteers with one token (a copy-paste in the original's admin): neither may keep it.
    '8': { name: '', email: 'clash-a@example.org', token: 'shared-token', number: 'W-8', status: 1 },
    '9': { name: '', email: 'clash-b@example.org', token: 'shared-token', number: 'W-9', status: 1 },
    // A token another campaign already holds: the volunteer is imported without it.
    '10': { name: '', email: 'stored-clash@example.org', token: 'already-stored-token', number: 'W-10', status: 1 },
    // The same email twice: the first row wins, the second is reported.
    '11': { name: 'Again', email: 'MUXXS@foxmail.com', token: 'token11', number: '11', status: 0 },
    '12': { name: 'x', email: 'not an email', token: 't12', number: 'W-12', status: 1 },
    '13': { email: 'odd-status@example.org', token: 'odd-status-token', status: 7 },
    '14': { email: 'no-token@example.org', status: 1 },
  },
};

describe.each(testDialects())('importing the original data.json (%s)', (dialect) => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  const dir = mkdtempSync(join(tmpdir(), 'vh-datajson-'));
  const program = new Command('volunteer-hub').exitOverride();
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
  const row = (email: string) => t.core.db.selectFrom('recipients').selectAll().where('email', '=', email).executeTakeFirst();

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ dialect, env: { SMTP_URL: smtp.url, PUBLIC_URL: 'http://vh.test', ADMIN_TOKEN: ADMIN } });
    registerCli(program, async () => t.core);
    // Another campaign already holds "already-stored-token".
    const other = await t.app.inject({
      method: 'POST',
      url: '/api/v2/certificates/campaigns',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'Earlier', slug: 'earlier' }),
    });
    expect(other.statusCode).toBe(201);
    await seedPost(t, '/api/addUserData', { token: ADMIN, email: ['holder@example.org'], campaign: 'earlier' });
    await t.core.db
      .updateTable('recipients')
      .set({ token_hash: hashToken('already-stored-token'), status: 1 })
      .where('email', '=', 'holder@example.org')
      .execute();
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports or reports every volunteer, each with its reason', async () => {
    writeFileSync(join(dir, 'data.json'), JSON.stringify(DATA, null, 2));
    const out = await cli('import', join(dir, 'data.json'));
    expect(out).toContain('added 12, duplicates 1, rejected 1');
    expect(out).toMatch(/#11: duplicate: .*muxxs@foxmail\.com.*#2/);
    expect(out).toMatch(/#12: rejected: not a valid email address/);
    // Kept volunteers whose old link no longer works, each with why and what happens next.
    expect(out).toMatch(/#3: fresh@example\.org: .*token is the email.*new link/);
    expect(out).toMatch(/#4: notified@example\.org: .*token is the email.*new link/);
    expect(out).toMatch(/#8: clash-a@example\.org: .*also used by #9.*new link/);
    expect(out).toMatch(/#9: clash-b@example\.org: .*also used by #8.*new link/);
    expect(out).toMatch(/#10: stored-clash@example\.org: .*already used by another volunteer.*new link/);
    expect(out).toMatch(/#13: odd-status@example\.org: .*status 7/);
    expect(out).toMatch(/#14: no-token@example\.org: .*no token.*new link/);

    const count = Number(
      (
        await t.core.db
          .selectFrom('recipients')
          .innerJoin('campaigns', 'campaigns.id', 'recipients.campaign_id')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('campaigns.slug', '=', 'default')
          .executeTakeFirstOrThrow()
      ).n,
    );
    expect(count).toBe(12);
    // Email tokens are gone: not stored, not answered.
    for (const email of ['fresh@example.org', 'notified@example.org']) {
      expect((await row(email))?.token_hash, email).toBeNull();
      expect((await row(email))?.status, email).toBe(0);
      expect((await seedGet(t, `/api/getUserInfo?token=${encodeURIComponent(email)}`)).body.code, email).toBe(2);
    }
    expect((await seedGet(t, '/api/getUserInfo?token=Notified%40Example.org')).body.code).toBe(2);
    // Neither side of a clash keeps the shared token; the holder in the other campaign keeps its own.
    expect((await row('clash-a@example.org'))?.token_hash).toBeNull();
    expect((await row('clash-b@example.org'))?.token_hash).toBeNull();
    expect((await seedGet(t, '/api/getUserInfo?token=shared-token')).body.code).toBe(2);
    expect(await row('stored-clash@example.org')).toMatchObject({ token_hash: null, status: 0 });
    expect((await seedGet(t, '/api/getUserInfo?token=already-stored-token')).body.data.email).toBe('holder@example.org');
    expect(await row('odd-status@example.org')).toMatchObject({ status: 0 });
  });

  it("keeps the original's links working whatever their length", async () => {
    const t0 = await seedGet(t, '/api/getUserInfo?token=token0');
    expect(t0.body).toEqual({
      code: 0,
      data: {
        email: 'kevin18@briggs-hernandez.com',
        name: 'Rebecca Salazar',
        Email: 'kevin18@briggs-hernandez.com',
        Name: 'Rebecca Salazar',
      },
      message: 'success',
    });
    const t1 = await seedGet(t, '/api/getUserInfo?token=token1');
    expect(t1.body.data.email).toBe('muxxs@foxmail.com');
    expect((await t.app.inject({ method: 'GET', url: '/api/v2/certificates/claim?token=token1' })).json()).toMatchObject({
      email: 'muxxs@foxmail.com',
      status: 1,
    });
    expect((await seedPost(t, '/api/submitUserInfo', { token: 'token0', name: 'Rebecca S.' })).body).toEqual({
      code: 0,
      data: null,
      message: 'success',
    });
    await waitFor(async () => (await row('kevin18@briggs-hernandez.com'))?.status === 4, 30_000, 'the certificate for token0');
  });

  it('finishes what the original left at 2 and 3, and leaves 4 alone', async () => {
    await waitFor(
      async () => (await row('submitted@example.org'))?.status === 4 && (await row('rendered@example.org'))?.status === 4,
      30_000,
      'certificates for statuses 2 and 3',
    );
    const certs = (await Promise.all(smtp.received.map((m) => parseMail(m.raw)))).filter((m) => m.messageId?.startsWith('<certificate.'));
    const to = certs.map((c) => c.to?.[0]?.address).sort();
    expect(to).toEqual(['kevin18@briggs-hernandez.com', 'rendered@example.org', 'submitted@example.org']);
    expect(await row('done@example.org')).toMatchObject({ status: 4, cert_count: 0 });
    // A certificate the original mailed can be verified here too: it has an id and a credential.
    const done = (await row('done@example.org'))!;
    const verify = await t.app.inject({ method: 'GET', url: `/api/v2/certificates/verify/${done.certificate_id}` });
    expect(verify.statusCode, verify.body).toBe(200);
    expect(verify.json()).toMatchObject({ name: '王五' });
    // The old links of finished volunteers answer "already sent", as the original did.
    expect((await seedGet(t, '/api/getUserInfo?token=6f1c2d3e-0000-4000-8000-000000000007')).body.code).toBe(3);
  });

  it('sends fresh links to the volunteers whose token was dropped, and only to them', async () => {
    expect((await seedPost(t, '/api/email', { token: ADMIN, action: 'send' })).body.code).toBe(0);
    const want = [
      'clash-a@example.org',
      'clash-b@example.org',
      'fresh@example.org',
      'no-token@example.org',
      'notified@example.org',
      'odd-status@example.org',
      'stored-clash@example.org',
    ];
    const notices = await waitFor(
      async () => {
        const n = (await Promise.all(smtp.received.map((m) => parseMail(m.raw)))).filter((m) => m.messageId?.startsWith('<notice.'));
        return n.length >= want.length ? n : undefined;
      },
      30_000,
      'notices',
    );
    expect(notices.map((n) => n.to?.[0]?.address).sort()).toEqual(want);
    for (const n of notices) {
      const token = tokenFromNotice(n.html ?? '')!;
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect((await seedGet(t, `/api/getUserInfo?token=${token}`)).body.data.email).toBe(n.to?.[0]?.address);
    }
    // token0/token1 volunteers (status 1 with a working link) got no second notice.
    expect(notices.some((n) => n.to?.[0]?.address === 'muxxs@foxmail.com')).toBe(false);
  });

  it('importing the same file again adds nobody and says why', async () => {
    const out = await cli('import', join(dir, 'data.json'));
    expect(out).toContain('added 0, duplicates 13, rejected 1');
    expect(out).toMatch(/#1: duplicate: kevin18@briggs-hernandez\.com is already in this campaign/);
  });
});
