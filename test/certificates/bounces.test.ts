/**
 * Issue 17 item 4, must show: a real IMAP server on loopback (Dovecot, started with its own
 * configuration). Delivery reports for notices are put into the bounce mailbox with IMAP APPEND:
 * an RFC 3464 DSN and a non-standard (qmail-style) bounce. Reading the mailbox marks those
 * volunteers bounced with the remote server's reason and blocklists the addresses; a "delayed"
 * report and an unrelated message change nothing; the next campaign does not mail a blocklisted
 * address until the organizer clears it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { startDovecot, type TestImapServer } from '../helpers/dovecot.js';
import { startSmtpServer, type TestSmtpServer } from '../platform/smtp-server.js';
import { parseMail, waitFor, adminAuth as auth } from './helpers.js';

function dsn(messageId: string, to: string, action: string, status: string, diagnostic: string): string {
  const b = 'BOUNDARY-42';
  return [
    'From: Mail Delivery System <MAILER-DAEMON@mx.greenriver.example>',
    'To: notices@greenriver.example',
    'Subject: Undelivered Mail Returned to Sender',
    'Date: Wed, 02 Dec 2026 05:00:00 +0000',
    `Message-ID: <dsn.${Math.random().toString(36).slice(2)}@mx.greenriver.example>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${b}"`,
    '',
    `--${b}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is the mail system at host mx.greenriver.example. Your message could not be delivered.',
    '',
    `--${b}`,
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.greenriver.example',
    'Arrival-Date: Wed, 02 Dec 2026 04:59:00 +0000',
    '',
    `Final-Recipient: rfc822; ${to}`,
    `Original-Recipient: rfc822;${to}`,
    `Action: ${action}`,
    `Status: ${status}`,
    'Remote-MTA: dns; mx.example.net',
    `Diagnostic-Code: smtp; ${diagnostic}`,
    '',
    `--${b}`,
    'Content-Type: text/rfc822-headers',
    '',
    'From: Green River <notices@greenriver.example>',
    `To: ${to}`,
    'Subject: Confirm the name for your certificate',
    `Message-ID: ${messageId}`,
    '',
    `--${b}--`,
    '',
  ].join('\r\n');
}

function qmailBounce(messageId: string, to: string): string {
  return [
    'From: MAILER-DAEMON@mail.example.cn',
    'To: notices@greenriver.example',
    'Subject: failure notice',
    'Date: Wed, 02 Dec 2026 05:01:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hi. This is the qmail-send program at mail.example.cn.',
    "I'm afraid I wasn't able to deliver your message to the following addresses.",
    "This is a permanent error; I've given up. Sorry it didn't work out.",
    '',
    `<${to}>:`,
    'Remote host said: 550 5.7.1 Mailbox disabled for this recipient',
    '',
    '--- Below this line is a copy of the message.',
    '',
    `Message-ID: ${messageId}`,
    'Subject: Confirm the name for your certificate',
    '',
  ].join('\r\n');
}

describe.each(testDialects())('certificates: bounces from an IMAP mailbox on %s', (dialect) => {
  let smtp: TestSmtpServer;
  let imap: TestImapServer;
  let t: TestApp;
  beforeAll(async () => {
    [smtp, imap] = await Promise.all([startSmtpServer(), startDovecot()]);
    t = await startTestApp({ dialect, env: { SMTP_URL: smtp.url, PUBLIC_URL: 'https://vh.example.org', BOUNCE_POLL_SECONDS: '0' } });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
    await imap?.close();
  });
  const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    t.app.inject({
      method,
      url: `/api/v2/certificates${url}`,
      headers: auth,
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });

  async function append(...messages: string[]) {
    const c = new ImapFlow({
      host: '127.0.0.1',
      port: imap.port,
      secure: false,
      auth: { user: imap.user, pass: imap.pass },
      logger: false,
    });
    await c.connect();
    for (const m of messages) await c.append('INBOX', m);
    await c.logout();
  }

  it('marks hard bounces failed with the remote reason, blocklists them, and the next campaign skips them', async () => {
    expect((await api('POST', '/campaigns/default/bounces/check')).statusCode).toBe(409);
    const patch = await api('PATCH', '/campaigns/default', {
      mail: { smtp: { from: 'notices@greenriver.example' }, bounceImapUrl: imap.url },
    });
    expect(patch.statusCode).toBe(200);
    expect(patch.json().mail.bounceMailbox).toMatchObject({ source: 'campaign', host: '127.0.0.1', user: 'bounces', mailbox: 'INBOX' });
    expect(JSON.stringify(patch.json())).not.toContain(imap.pass);
    expect((await api('PATCH', '/campaigns/default', { mail: { bounceImapUrl: 'imap://u:p@mail.example.org/INBOX' } })).statusCode).toBe(
      400,
    );

    await api('POST', '/campaigns/default/recipients', {
      lines: ['gone@example.net', 'disabled@example.cn', 'slow@example.net', 'fine@example.net'],
    });
    await api('POST', '/campaigns/default/send');
    await waitFor(() => smtp.received.length >= 4, 20_000, 'four notices');
    const ids = new Map<string, string>();
    for (const m of smtp.received) ids.set(m.to[0], (await parseMail(m.raw)).messageId!);
    expect(ids.get('gone@example.net')).toMatch(/^<notice\.\d+\.1@vh\.example\.org>$/);

    await append(
      dsn(
        ids.get('gone@example.net')!,
        'gone@example.net',
        'failed',
        '5.1.1',
        '550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown in virtual mailbox table',
      ),
      qmailBounce(ids.get('disabled@example.cn')!, 'disabled@example.cn'),
      dsn(ids.get('slow@example.net')!, 'slow@example.net', 'delayed', '4.4.1', '421 4.4.1 connection timed out; will keep trying'),
      'From: someone@example.org\r\nTo: notices@greenriver.example\r\nSubject: thank you!\r\n\r\nThanks for organising.\r\n',
    );
    const r = await api('POST', '/campaigns/default/bounces/check');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ read: 4, hard: 2, soft: 0, unmatched: 0, unsubscribed: 0 });
    // Read once: the messages are flagged \Seen.
    expect((await api('POST', '/campaigns/default/bounces/check')).json().read).toBe(0);

    const list = (await api('GET', '/campaigns/default/recipients')).json().items as Array<{
      email: string;
      failure: string | null;
      bouncedAt: number | null;
      status: number;
    }>;
    const by = (e: string) => list.find((x) => x.email === e)!;
    expect(by('gone@example.net').failure).toMatch(/5\.1\.1.*User unknown in virtual mailbox table/);
    expect(by('gone@example.net').bouncedAt).toBeGreaterThan(0);
    expect(by('disabled@example.cn').failure).toMatch(/5\.7\.1.*Mailbox disabled/);
    expect(by('slow@example.net').failure).toBeNull();
    expect(by('fine@example.net').failure).toBeNull();
    const progress = (await api('GET', '/campaigns/default/progress')).json();
    expect(progress.optOut).toEqual({ unsubscribed: 0, bounced: 2, blocked: 2 });
    const blocked = (await api('GET', '/blocklist')).json();
    expect(blocked.items.map((b: { email: string }) => b.email).sort()).toEqual(['disabled@example.cn', 'gone@example.net']);
    expect(blocked.items.find((b: { email: string }) => b.email === 'gone@example.net').reason).toMatch(/5\.1\.1/);

    // The next campaign does not mail the blocklisted addresses.
    const next = (await api('POST', '/campaigns', { name: 'Spring 2027', slug: 'spring-2027' })).json();
    await api('POST', `/campaigns/${next.id}/recipients`, { lines: ['gone@example.net', 'fine@example.net', 'disabled@example.cn'] });
    expect((await api('GET', `/campaigns/${next.id}/send`)).json().toSend).toBe(1);
    const before = smtp.received.length;
    await api('POST', `/campaigns/${next.id}/send`);
    await waitFor(
      async () => (await api('GET', `/campaigns/${next.id}/progress`)).json().sending === 'idle',
      20_000,
      'the next campaign to finish',
    );
    const sent = smtp.received.slice(before).map((m) => m.to[0]);
    expect(sent).toEqual(['fine@example.net']);
    expect((await api('GET', `/campaigns/${next.id}/progress`)).json().optOut.blocked).toBe(2);

    // A soft bounce the server gave up on (failed, 4.x.x): the notice goes again later with the same link.
    await append(dsn(ids.get('fine@example.net')!, 'fine@example.net', 'failed', '4.2.2', '452 4.2.2 <fine@example.net>: Mailbox full'));
    expect((await api('POST', '/campaigns/default/bounces/check')).json()).toMatchObject({ read: 1, soft: 1, hard: 0 });
    const fine = (
      (await api('GET', '/campaigns/default/recipients')).json().items as Array<{ email: string; status: number; failure: string | null }>
    ).find((x) => x.email === 'fine@example.net')!;
    expect(fine).toMatchObject({ status: 0, failure: null });
    expect((await api('GET', '/blocklist')).json().total).toBe(2);

    // The List-Unsubscribe mailto, answered into the same mailbox, unsubscribes.
    const slowNotice = await parseMail(smtp.received.find((m) => m.to[0] === 'slow@example.net')!.raw);
    const mailto = /<mailto:[^?]+\?subject=([^>]+)>/.exec(slowNotice.headers.find((x) => x.key === 'list-unsubscribe')!.value)![1];
    await append(`From: slow@example.net\r\nTo: notices@greenriver.example\r\nSubject: ${decodeURIComponent(mailto)}\r\n\r\n\r\n`);
    expect((await api('POST', '/campaigns/default/bounces/check')).json()).toMatchObject({ read: 1, unsubscribed: 1 });
    expect((await api('GET', '/campaigns/default/progress')).json().optOut.unsubscribed).toBe(1);

    // The organizer clears one address: it is mailed again.
    expect((await api('DELETE', '/blocklist/gone@example.net')).statusCode).toBe(200);
    expect((await api('DELETE', '/blocklist/gone@example.net')).statusCode).toBe(404);
    expect((await api('GET', `/campaigns/${next.id}/send`)).json().toSend).toBe(1);

    // A mailbox that cannot be read answers 502 with the reason, in the API's envelope.
    await api('PATCH', `/campaigns/${next.id}`, { mail: { bounceImapUrl: imap.url.replace(imap.pass, 'wrong-password') } });
    const bad = await api('POST', `/campaigns/${next.id}/bounces/check`);
    expect(bad.statusCode).toBe(502);
    expect(bad.json().code).toBe('imap_error');
  });

  it('two instances reading the mailbox at the same moment apply each report once', async () => {
    // A second instance on the same database with the same SECRET_KEY (a fleet), and soft bounces
    // for two notices: a report applied twice would count a second soft bounce (the volunteer is
    // given up on sooner) and schedule the notice twice. On SQLite the same instance reads twice
    // at once: two instances in one process on one SQLite file would block each other's event
    // loop (better-sqlite3 waits synchronously for the file lock), which separate processes do not.
    const other =
      dialect === 'postgres'
        ? await startTestApp({
            database: t.config.database,
            env: {
              SMTP_URL: smtp.url,
              PUBLIC_URL: 'https://vh.example.org',
              BOUNCE_POLL_SECONDS: '0',
              SECRET_KEY: readFileSync(join(t.dataDir, 'secret.key'), 'utf8').trim(),
            },
          })
        : t;
    try {
      const c = (await api('POST', '/campaigns', { name: 'Fleet', slug: 'fleet-bounces' })).json();
      await api('PATCH', `/campaigns/${c.id}`, { mail: { smtp: { from: 'notices@greenriver.example' }, bounceImapUrl: imap.url } });
      await api('POST', `/campaigns/${c.id}/recipients`, { lines: ['one@example.net', 'two@example.net'] });
      const before = smtp.received.length;
      await api('POST', `/campaigns/${c.id}/send`);
      await waitFor(() => smtp.received.length >= before + 2, 20_000, 'two notices');
      const reports: string[] = [];
      for (const m of smtp.received.slice(before)) {
        reports.push(dsn((await parseMail(m.raw)).messageId!, m.to[0], 'failed', '4.2.2', `452 4.2.2 <${m.to[0]}>: Mailbox full`));
      }
      await append(...reports);
      const check = (app: TestApp) =>
        app.app.inject({ method: 'POST', url: `/api/v2/certificates/campaigns/${c.id}/bounces/check`, headers: auth });
      const answers = await Promise.all([check(t), check(other), check(t), check(other)]);
      // Each report was read by exactly one of them; a reader that found the mailbox taken says so.
      const read = answers.filter((a) => a.statusCode === 200).reduce((n, a) => n + a.json().read, 0);
      expect(read).toBe(2);
      for (const a of answers) {
        if (a.statusCode !== 200) expect(a.json(), a.body).toMatchObject({ code: 'mailbox_busy' });
        expect([200, 409]).toContain(a.statusCode);
      }
      const attempts = await t.core.db
        .selectFrom('recipients')
        .select(['email', 'attempts'])
        .where('campaign_id', '=', c.id)
        .orderBy('email')
        .execute();
      expect(attempts.map((r) => Number(r.attempts))).toEqual([1, 1]);
    } finally {
      if (other !== t) await other.close();
    }
  });
});
