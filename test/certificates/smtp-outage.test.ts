/**
 * Issue 11.6 and 12.2: an SMTP server out of reach pauses the campaign with the reason shown
 * (query, progress) and fails no one; sending resumes by itself when the server answers again.
 * A claim whose certificate mail fails tells the truth (seed code 4, the claim page, query) and
 * is retried by itself. A bulk "retry failed" puts failed notices back in the queue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { startSmtpServer, startTcpGate, type TcpGate, type TestSmtpServer } from '../platform/smtp-server.js';
import { ADMIN, parseMail, seedGet, seedPost, tokenFromNotice, waitFor } from './helpers.js';

describe.each(testDialects())('certificates: SMTP outage on %s', (dialect) => {
  let smtp: TestSmtpServer;
  let gate: TcpGate;
  let t: TestApp;
  let refuse = false;
  const query = async () => (await seedPost(t, '/api/email', { token: ADMIN, action: 'query' })).body.data;

  beforeAll(async () => {
    smtp = await startSmtpServer({
      answer(mail) {
        if (refuse && mail.to[0]!.startsWith('perm')) return { code: 550, message: '5.1.1 mailbox unavailable' };
        return undefined;
      },
    });
    gate = await startTcpGate(smtp.port);
    // Retry timings made short: a budget of 3 attempts 50-100 ms apart, probes every 200-400 ms.
    t = await startTestApp({
      dialect,
      env: {
        SMTP_URL: gate.url,
        PUBLIC_URL: 'http://vh.test',
        MAIL_RETRY_MS: '50',
        MAIL_RETRY_MAX_MS: '100',
        MAIL_RETRY_ATTEMPTS: '3',
        MAIL_PROBE_MAX_MS: '400',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await gate?.close();
    await smtp?.close();
  });

  it('pauses with the reason during an outage longer than the retry budget, fails no one, and resumes by itself', async () => {
    const emails = Array.from({ length: 30 }, (_, i) => `v${i}@example.org`);
    await gate.down();
    expect((await seedPost(t, '/api/addUserData', { token: ADMIN, email: emails })).body.data.added).toBe(30);
    expect((await seedPost(t, '/api/email', { token: ADMIN, action: 'send' })).body.data.queued).toBe(30);
    const paused = await waitFor(
      async () => {
        const q = await query();
        return q.outage ? q : undefined;
      },
      20_000,
      'the outage to show',
    );
    expect(paused.outage.reason).toMatch(/ECONNREFUSED|ESOCKET|ECONNECTION|connect/i);
    expect(paused.sending).toBe(true);
    // Several probes (each longer than the whole per-recipient budget) and still nobody failed.
    await waitFor(async () => (await query()).outage?.probes >= 4, 20_000, 'several probes');
    const during = await query();
    expect(during.failed.count).toBe(0);
    expect(during.counts['0']).toBe(30);

    await gate.up();
    const done = await waitFor(
      async () => {
        const q = await query();
        return q.sending === false ? q : undefined;
      },
      30_000,
      'sending to finish after the outage',
    );
    expect(done.outage).toBeNull();
    expect(done.counts['1']).toBe(30);
    expect(done.failed.count).toBe(0);
    const ids = await Promise.all(smtp.received.map(async (m) => (await parseMail(m.raw)).messageId));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(30);
  });

  it('a claim whose certificate mail fails says so (code 4), the organizer sees it, and it is retried by itself', async () => {
    const notice = await parseMail(smtp.received[0]!.raw);
    const token = tokenFromNotice(notice.html ?? '')!;
    await gate.down();
    expect((await seedPost(t, '/api/submitUserInfo', { token, name: 'Claire' })).body.code).toBe(0);
    const info = await waitFor(
      async () => {
        const r = await seedGet(t, `/api/getUserInfo?token=${token}`);
        return r.body.code === 4 ? r.body : undefined;
      },
      20_000,
      'getUserInfo to say the certificate mail failed',
    );
    expect(info.message).toMatch(/could not be delivered yet.*being retried/);
    // Submitting again says the same, not "already sent".
    expect((await seedPost(t, '/api/submitUserInfo', { token, name: 'Claire' })).body.code).toBe(4);
    const q = await query();
    expect(q.failed.latest.map((f: { email: string; reason: string }) => f.reason).join()).toMatch(/certificate not delivered/);
    const page = await t.app.inject({ method: 'GET', url: `/api/v2/certificates/claim?token=${token}` });
    expect(page.json()).toMatchObject({ claimed: true, delivery: 'failed' });

    await gate.up();
    await waitFor(async () => (await query()).counts['4'] === 1, 30_000, 'the certificate after the outage');
    expect((await seedGet(t, `/api/getUserInfo?token=${token}`)).body.code).toBe(3);
    expect((await query()).failed.count).toBe(0);
    expect((await t.app.inject({ method: 'GET', url: `/api/v2/certificates/claim?token=${token}` })).json().delivery).toBe('sent');
  });

  it('retries failed notices in bulk', async () => {
    refuse = true;
    expect(
      (await seedPost(t, '/api/addUserData', { token: ADMIN, email: ['perm1@example.org', 'perm2@example.org'] })).body.data.added,
    ).toBe(2);
    await seedPost(t, '/api/email', { token: ADMIN, action: 'send' });
    await waitFor(async () => (await query()).failed.count === 2, 20_000, 'two permanent failures');
    refuse = false;
    const auth = { authorization: `Bearer ${ADMIN}` };
    const res = await t.app.inject({ method: 'POST', url: '/api/v2/certificates/campaigns/default/retry-failed', headers: auth });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ notices: 2 });
    await waitFor(
      async () => {
        const q = await query();
        return q.sending === false && q.failed.count === 0 && q.counts['0'] === 0;
      },
      20_000,
      'the retried notices to go out',
    );
  });
});
