/** Shared bits of the certificates tests: templates, seed calls, mail parsing, waiting. */
import { createCanvas } from '@napi-rs/canvas';
import PostalMime from 'postal-mime';
import { afterAll, afterEach, beforeAll, vi } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import type { TestDialect } from '../helpers/db.js';
import { startSmtpServer, type TestSmtpServer } from '../platform/smtp-server.js';

export const ADMIN = 'test-admin-token';
/** The admin API's prefix and the organizer's bearer header. */
export const V2 = '/api/v2/certificates';
export const adminAuth = { authorization: `Bearer ${ADMIN}` };

/**
 * The authenticated admin API caller: `api(method, '/campaigns', body?)` sends JSON with the
 * organizer's token to `prefix` + url and answers the status, the parsed reply and the response.
 * `app` may be a getter, for a TestApp started in beforeAll.
 */
export function v2Api(app: TestApp | (() => TestApp), prefix = V2) {
  const get = typeof app === 'function' ? app : () => app;
  return async (method: string, url: string, body?: unknown) => {
    const res = await get().app.inject({
      method: method as 'GET',
      url: `${prefix}${url}`,
      headers: { ...adminAuth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      payload: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.statusCode, json: () => res.json(), res };
  };
}

/** A plain white PNG template of the given size. */
export function whiteTemplate(width = 750, height = 1200): Buffer {
  const c = createCanvas(width, height);
  const g = c.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, width, height);
  return c.toBuffer('image/png');
}

/** POSTs JSON to a seed endpoint; returns HTTP status and the parsed envelope. */
/**
 * For a describe's tests: an app on `dialect` mailing into a loopback SMTP server of its own, both
 * started before the first test and closed after the last; spies are restored after each test.
 * Read `app` and `smtp` inside the tests (they are set in beforeAll).
 */
export function mailingApp(dialect: TestDialect): { readonly app: TestApp; readonly smtp: TestSmtpServer } {
  const t = {} as { app: TestApp; smtp: TestSmtpServer };
  beforeAll(async () => {
    t.smtp = await startSmtpServer();
    t.app = await startTestApp({ dialect, env: { SMTP_URL: t.smtp.url, PUBLIC_URL: 'http://vh.test' } });
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await t.app?.close();
    await t.smtp?.close();
  });
  return t;
}

export async function seedPost(t: TestApp, url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await t.app.inject({
    method: 'POST',
    url,
    payload: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
  return { status: res.statusCode, body: res.json<{ code: number; data: any; message: string }>() };
}

export async function seedGet(t: TestApp, url: string) {
  const res = await t.app.inject({ method: 'GET', url });
  return { status: res.statusCode, body: res.json<{ code: number; data: any; message: string }>() };
}

/** Uploads a template through the seed endpoint (a real multipart request over loopback). */
export async function uploadTemplate(base: string, bytes: Buffer, token = ADMIN, filename = 'template.png', field = 'template') {
  const form = new FormData();
  form.append(field, new Blob([new Uint8Array(bytes)]), filename);
  const res = await fetch(`${base}/api/uploadImage`, { method: 'POST', body: form, headers: { Token: token } });
  return { status: res.status, body: (await res.json()) as { code: number; data: any; message: string } };
}

export async function parseMail(raw: Buffer) {
  return PostalMime.parse(raw);
}

/** The link token in a notice. */
export function tokenFromNotice(text: string): string | undefined {
  return /[?&]token=([A-Za-z0-9_%-]+)/.exec(text)?.[1];
}

/** Polls until a truthy value (test/helpers/wait.ts: vitest's vi.waitFor). */
export { waitFor } from '../helpers/wait.js';
