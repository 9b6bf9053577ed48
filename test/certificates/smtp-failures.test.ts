/**
 * Must-show 3: an SMTP server that answers 4xx to some recipients for a while and 5xx to others:
 * the retryable ones arrive, the permanent failures are reported by `query` with their reasons.
 * Also: a 4xx on the certificate mail is retried until it arrives; a campaign's daily quota pauses
 * sending (progress shows it) without losing anyone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { startSmtpServer, type TestSmtpServer } from '../platform/smtp-server.js';
import { ADMIN, parseMail, seedGet, seedPost, tokenFromNotice, waitFor } from './helpers.js';

describe.each(testDialects())('certificates: SMTP failures on %s', (dialect) => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  const tries = new Map<string, number>();
  let certTempFailures = 0;
  beforeAll(async () => {
    smtp = await startSmtpServer({
      answer(mail) {
        const to = mail.to[0];
        const n = (tries.get(to) ?? 0) + 1;
        tries.set(to, n);
        if (to.startsWith('perm')) return { code: 550, message: `5.1.1 <${to}>: mailbox unavailable` };
        if (to.startsWith('temp') && n <= 2) return { code: 451, message: '4.7.1 greylisted, try again later' };
        if (to === 'claim@example.org' && mail.raw.includes('certificate.') && certTempFailures < 1) {
          certTempFailures++;
          return { code: 421, message: '4.3.2 service busy' };
        }
        return undefined;
      },
    });
    t = await startTestApp({ dialect, env: { SMTP_URL: smtp.url, PUBLIC_URL: 'http://vh.test' } });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('delivers the retryable ones and reports permanent failures with reasons', async () => {
    const lines = [
      'ok1@example.org',
      'ok2@example.org',
      'temp1@example.org',
      'temp2@example.org',
      'perm1@example.org',
      'perm2@example.org',
      'claim@example.org',
    ];
    expect((await seedPost(t, '/api/addUserData', { token: ADMIN, email: lines })).body.data.added).toBe(7);
    expect((await seedPost(t, '/api/email', { token: ADMIN, action: 'send' })).body.data.queued).toBe(7);
    const q = await waitFor(
      async () => {
        const r = await seedPost(t, '/api/email', { token: ADMIN, action: 'query' });
        return r.body.data.sending === false ? r.body.data : undefined;
      },
      30_000,
      'sending to finish',
    );
    expect(q.counts).toEqual({ '0': 2, '1': 5, '2': 0, '3': 0, '4': 0 });
    expect(q.failed.count).toBe(2);
    expect(q.failed.latest.map((f: { email: string }) => f.email).sort()).toEqual(['perm1@example.org', 'perm2@example.org']);
    for (const f of q.failed.latest) expect(f.reason).toMatch(/550|mailbox unavailable/);
    // Greylisted twice, then accepted: each temp recipient got exactly one notice, same Message-ID on every try.
    const got = await Promise.all(smtp.received.map((m) => parseMail(m.raw)));
    for (const to of ['temp1@example.org', 'temp2@example.org']) {
      expect(tries.get(to)).toBe(3);
      expect(got.filter((m) => m.to?.[0]?.address === to)).toHaveLength(1);
    }
    expect(got.filter((m) => m.to?.[0]?.address?.startsWith('perm'))).toHaveLength(0);

    // A 4xx on the certificate mail: retried with backoff until it arrives (status 4).
    const notice = got.find((m) => m.to?.[0]?.address === 'claim@example.org')!;
    const token = tokenFromNotice(notice.html ?? '')!;
    expect((await seedGet(t, `/api/getUserInfo?token=${token}`)).body.code).toBe(0);
    expect((await seedPost(t, '/api/submitUserInfo', { token, name: 'Claire' })).body.code).toBe(0);
    await waitFor(
      async () => (await seedPost(t, '/api/email', { token: ADMIN, action: 'query' })).body.data.counts['4'] === 1,
      30_000,
      'certificate after a 4xx',
    );
    expect(certTempFailures).toBe(1);
    expect(smtp.received.filter((m) => m.raw.includes('Message-ID: <certificate.'))).toHaveLength(1);
  });

  it("pauses at a campaign's daily quota, shows the pause, and a reset volunteer is mailed on the next send", async () => {
    const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v2/certificates/campaigns',
      headers: auth,
      payload: JSON.stringify({ name: 'Quota test', slug: 'quota' }),
    });
    expect(created.statusCode).toBe(201);
    const patch = await t.app.inject({
      method: 'PATCH',
      url: '/api/v2/certificates/campaigns/quota',
      headers: auth,
      payload: JSON.stringify({ organization: 'Q', mail: { dailyLimit: 2 } }),
    });
    expect(patch.json().mail.dailyLimit).toBe(2);
    const imp = await t.app.inject({
      method: 'POST',
      url: '/api/v2/certificates/campaigns/quota/recipients',
      headers: { authorization: auth.authorization, 'content-type': 'text/csv' },
      payload: 'email,number\nq1@example.org,1\nq2@example.org,2\nq3@example.org,3\n',
    });
    expect(imp.json()).toMatchObject({ added: 3, duplicates: [], rejected: [] });
    const before = smtp.received.length;
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/api/v2/certificates/campaigns/quota/send',
          headers: { authorization: auth.authorization },
        })
      ).json(),
    ).toEqual({ queued: 3 });
    const p = await waitFor(
      async () => {
        const r = (await t.app.inject({ method: 'GET', url: '/api/v2/certificates/campaigns/quota/progress', headers: auth })).json();
        return r.quota.pausedUntil ? r : undefined;
      },
      15_000,
      'quota pause',
    );
    expect(p.counts['1']).toBe(2);
    expect(p.counts['0']).toBe(1);
    expect(p.sending).toBe('sending');
    expect(smtp.received.length - before).toBe(2);
    // Pause and resume change the state the console shows.
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/api/v2/certificates/campaigns/quota/pause',
          headers: { authorization: auth.authorization },
        })
      ).json().sending,
    ).toBe('paused');
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/api/v2/certificates/campaigns/quota/resume',
          headers: { authorization: auth.authorization },
        })
      ).json().sending,
    ).toBe('sending');
  });
});
