/**
 * Issue 11.7: the progress figures are the fleet's. Two instances on one database: what one sent
 * shows on the other (rate over the last minute, used today, counts), because every figure is read
 * from the database rather than kept in an instance's memory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { startSmtpServer, type TestSmtpServer } from '../platform/smtp-server.js';
import { ADMIN, seedPost, waitFor } from './helpers.js';

describe.each(testDialects())('certificates: fleet-wide progress on %s', (dialect) => {
  let smtp: TestSmtpServer;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    smtp = await startSmtpServer();
    a = await startTestApp({ dialect, env: { SMTP_URL: smtp.url, PUBLIC_URL: 'http://vh.test' } });
    // The second instance runs no jobs: everything it shows, the first one did.
    b = await startTestApp({ database: a.config.database, startJobs: false, env: { SMTP_URL: smtp.url, PUBLIC_URL: 'http://vh.test' } });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await smtp?.close();
  });

  it('shows on one instance what another sent', async () => {
    const emails = Array.from({ length: 5 }, (_, i) => `f${i}@example.org`);
    expect((await seedPost(a, '/api/addUserData', { token: ADMIN, email: emails })).body.data.added).toBe(5);
    await seedPost(a, '/api/email', { token: ADMIN, action: 'send' });
    await waitFor(
      async () => (await seedPost(a, '/api/email', { token: ADMIN, action: 'query' })).body.data.sending === false,
      20_000,
      'sending to finish',
    );
    const onA = (await seedPost(a, '/api/email', { token: ADMIN, action: 'query' })).body.data;
    // Counts of sends are written at most a second after the send when no quota limits them.
    const onB = await waitFor(
      async () => {
        const q = (await seedPost(b, '/api/email', { token: ADMIN, action: 'query' })).body.data;
        return q.quota.usedToday === 5 ? q : undefined;
      },
      10_000,
      'the used count on the other instance',
    );
    expect(onA.counts['1']).toBe(5);
    expect(onB.ratePerMin).toBe(5);
    expect(onB.quota.usedToday).toBe(5);
    expect(onB).toEqual(onA);
  });

  it('mails volunteers added while a campaign is sending (a later batch is planned for them)', async () => {
    const first = Array.from({ length: 150 }, (_, i) => `early${i}@example.org`);
    const later = Array.from({ length: 150 }, (_, i) => `late${i}@example.org`);
    await seedPost(a, '/api/addUserData', { token: ADMIN, email: first });
    const before = smtp.received.length;
    await seedPost(a, '/api/email', { token: ADMIN, action: 'send' });
    // Added while the first ones are being mailed, without another "send".
    expect((await seedPost(a, '/api/addUserData', { token: ADMIN, email: later })).body.data.added).toBe(150);
    await waitFor(
      async () => (await seedPost(a, '/api/email', { token: ADMIN, action: 'query' })).body.data.sending === false,
      60_000,
      'sending to finish',
    );
    const q = (await seedPost(a, '/api/email', { token: ADMIN, action: 'query' })).body.data;
    expect(q.counts['0']).toBe(0);
    expect(smtp.received.length - before).toBe(300);
  });
});
