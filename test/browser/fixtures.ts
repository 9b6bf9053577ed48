/**
 * What the browser tests stand on: the real app (dev mailbox as mail: no SMTP_URL) listening on
 * a loopback port whose URL is also PUBLIC_URL (so links in mails open this very server), a
 * template image drawn with @napi-rs/canvas, and small admin API helpers to set up a volunteer
 * for the claim page tests.
 */
import { vi } from 'vitest';
import { createHash } from 'node:crypto';
import { freePort } from '../helpers/free-port.js';
import { createCanvas } from '@napi-rs/canvas';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects, type TestDialect } from '../helpers/db.js';
import { ensureWebBuilt } from './web-build.js';

export const ADMIN_TOKEN = 'test-admin-token';

export interface WebApp {
  t: TestApp;
  url: string;
  close(): Promise<void>;
}

/**
 * Builds the pages if needed, then starts the real app on a free loopback port with PUBLIC_URL
 * set to it. The browser tests run once, on the first dialect of TEST_DIALECTS (SQLite by
 * default; TEST_DIALECTS=postgres runs them on PostgreSQL): the pages do not depend on it.
 */
export async function startWebApp(dialect: TestDialect = testDialects()[0] ?? 'sqlite'): Promise<WebApp> {
  await ensureWebBuilt();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const t = await startTestApp({ dialect, env: { PUBLIC_URL: url } });
  await t.app.listen({ port, host: '127.0.0.1' });
  return { t, url, close: () => t.close() };
}

/** A certificate background: light paper, a border and a title, like an organizer's template. */
export function templatePng(width = 800, height = 566): Buffer {
  const c = createCanvas(width, height);
  const ctx = c.getContext('2d');
  ctx.fillStyle = '#fbf7ee';
  ctx.fillRect(0, 0, width, height);
  ctx.strokeStyle = '#b08d57';
  ctx.lineWidth = 14;
  ctx.strokeRect(20, 20, width - 40, height - 40);
  ctx.fillStyle = '#7a5c2e';
  ctx.font = 'bold 44px sans-serif';
  ctx.textAlign = 'center';
  ctx.fillText('CERTIFICATE', width / 2, 110);
  ctx.font = '20px sans-serif';
  ctx.fillText('of volunteer service', width / 2, 145);
  return c.toBuffer('image/png');
}

export const sha256 = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Calls the admin v2 API; throws with the answer on a non-2xx status. */
export async function admin<T = any>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const res = await fetch(`${base}/api/v2/certificates/${path}`, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface DevMail {
  id: number;
  to: string;
  subject: string;
}

/** Waits until the dev mailbox holds `count` messages matching `pred`; returns them. */
export async function waitForMail(base: string, pred: (m: DevMail) => boolean, count = 1, timeoutMs = 20_000): Promise<DevMail[]> {
  return vi.waitFor(
    async () => {
      const res = await fetch(`${base}/api/v2/dev/mail?limit=200`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const { items } = (await res.json()) as { items: DevMail[] };
      const hits = items.filter(pred);
      if (hits.length < count)
        throw new Error(
          `timed out waiting for ${count} mails; mailbox has ${items.length}: ${items.map((m) => `${m.to}: ${m.subject}`).join('; ')}`,
        );
      return hits;
    },
    { timeout: timeoutMs, interval: 150 },
  );
}

/** The claim-link token in a dev-mailbox message. */
export async function tokenFromMail(base: string, id: number): Promise<string> {
  const m = (await (await fetch(`${base}/api/v2/dev/mail/${id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
    html: string | null;
    text: string | null;
  };
  const found = /\/certificate\?token=([A-Za-z0-9_\-%.~]+)/.exec(`${m.html ?? ''}\n${m.text ?? ''}`);
  if (!found) throw new Error(`no claim link in message ${id}`);
  return decodeURIComponent(found[1]);
}

/**
 * Sets up a campaign with a template and the given volunteers, sends the notices through the
 * real mail path (dev mailbox) and returns each volunteer's link token.
 */
export async function volunteersWithLinks(base: string, emails: string[]): Promise<Record<string, string>> {
  const c = await admin<{ id: number }>(base, 'POST', 'campaigns', { name: 'Claim page test' });
  const form = new FormData();
  form.append('template', new Blob([new Uint8Array(templatePng())], { type: 'image/png' }), 'template.png');
  await admin(base, 'PUT', `campaigns/${c.id}/template`, form);
  await admin(base, 'PATCH', `campaigns/${c.id}`, { organization: 'Green River Volunteers' });
  await admin(base, 'POST', `campaigns/${c.id}/recipients`, { lines: emails });
  await admin(base, 'POST', `campaigns/${c.id}/send`, {});
  const mails = await waitForMail(base, (m) => emails.includes(m.to.replace(/^.*<|>$/g, '')), emails.length);
  const out: Record<string, string> = {};
  for (const m of mails) out[m.to.replace(/^.*<|>$/g, '')] = await tokenFromMail(base, m.id);
  return out;
}
