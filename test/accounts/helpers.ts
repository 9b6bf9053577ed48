/**
 * Helpers of the accounts tests: the real app on a real database with a real SMTP server on
 * loopback (SMTP_URL), mails parsed with postal-mime, and a small client for the seed envelope.
 */
import { vi } from 'vitest';
import PostalMime from 'postal-mime';
import { startTestApp, type TestApp, type TestAppOptions } from '../helpers/app.js';
import type { TestDialect } from '../helpers/db.js';
import { startSmtpServer, type TestSmtpServer } from '../platform/smtp-server.js';
import { createAccountsService } from '../../src/modules/accounts/index.js';

export interface ParsedMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
}

export interface AccountsTestEnv {
  t: TestApp;
  smtp: TestSmtpServer;
  /** Calls the API (app.inject); returns the parsed JSON body and asserts HTTP 200. */
  call(method: string, url: string, opts?: { body?: unknown; token?: string; headers?: Record<string, string>; ip?: string }): Promise<any>;
  /** Waits for the n-th (1-based) mail to `to` and parses it. */
  mail(to: string, n?: number): Promise<ParsedMail>;
  mailsTo(to: string): number;
  /** Creates an active member directly (fast fixture) and returns a session token. */
  member(username: string, password?: string): Promise<{ username: string; email: string; password: string; token: string; id: number }>;
  close(): Promise<void>;
}

export async function startAccountsEnv(dialect: TestDialect, opts: Omit<TestAppOptions, 'dialect'> = {}): Promise<AccountsTestEnv> {
  const smtp = await startSmtpServer();
  const t = await startTestApp({ dialect, ...opts, env: { SMTP_URL: smtp.url, PUBLIC_URL: 'http://shop.test', ...opts.env } });
  const svc = createAccountsService({ db: t.core.db, dialect: t.core.dialect, now: t.core.now });
  async function parseAt(to: string, n: number): Promise<ParsedMail | undefined> {
    const m = smtp.received.filter((r) => r.to.includes(to))[n - 1];
    if (!m) return undefined;
    const p = await PostalMime.parse(m.raw);
    return { to, subject: p.subject ?? '', text: p.text ?? '', html: p.html ?? '', messageId: p.messageId ?? '' };
  }
  return {
    t,
    smtp,
    async call(method, url, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token) headers.authorization = o.token;
      const res = await t.app.inject({
        method: method as 'GET',
        url,
        headers,
        remoteAddress: o.ip,
        ...(o.body === undefined ? {} : typeof o.body === 'string' ? { payload: o.body } : { payload: o.body as object }),
      });
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode} for ${method} ${url}: ${res.body}`);
      return res.json();
    },
    async mail(to, n = 1) {
      return vi.waitFor(
        async () => {
          const m = await parseAt(to, n);
          if (!m) throw new Error(`no mail #${n} to ${to} (have ${smtp.received.length} in all)`);
          return m;
        },
        { timeout: 15_000, interval: 25 },
      );
    },
    mailsTo(to) {
      return smtp.received.filter((r) => r.to.includes(to)).length;
    },
    async member(username, password = 'a fine long passphrase') {
      const email = `${username}@example.org`;
      const u = await svc.createUser({ username, email, password, isActive: true });
      const { token } = await svc.createSession(u.id, 'web');
      return { username, email, password, token, id: u.id };
    },
    async close() {
      await t.close();
      await smtp.close();
    },
  };
}
