/**
 * The console's client for the certificates v2 API: the admin token (sessionStorage only: gone
 * when the browser session ends), typed calls, and a 401 handler that sends the organizer back
 * to sign-in. Types mirror the contract in src/modules/certificates/README.md.
 */
import { HttpError, NetworkError, request, type RequestOptions } from '../shared/http';

export { HttpError, NetworkError };

const TOKEN_KEY = 'vh.admin.token';
export const BASE = '/api/v2/certificates';

export type Align = 'left' | 'center' | 'right';
export interface TextField {
  x: number;
  y: number;
  size: number;
  color: string;
  align: Align;
  maxWidth?: number;
  font?: string;
}
export interface DateField extends TextField {
  format?: string;
}
export interface QrField {
  x: number;
  y: number;
  size: number;
}
export interface Layout {
  name: TextField;
  number: TextField;
  date: DateField;
  qr: QrField;
  /** Custom fields (import columns beyond email/number/name) by key; x = y = -1 until placed. */
  fields?: Record<string, TextField>;
}
export interface CustomField {
  key: string;
  label: string;
}
export interface CertificateState {
  id: string;
  status: 'valid' | 'revoked';
  issuedAt: number;
  revokedAt: number | null;
  revocationReason: string | null;
  replacedBy: string | null;
  name: string;
  verifyUrl: string;
}
export type Counts = Record<'0' | '1' | '2' | '3' | '4', number>;
export interface SmtpView {
  host: string | null;
  port: number | null;
  security: 'tls' | 'starttls' | 'none' | null;
  user: string | null;
  from: string | null;
  passwordSet: boolean;
}
export interface Campaign {
  id: number | string;
  slug: string;
  name: string;
  organization: string | null;
  website: string | null;
  claimUrl: string | null;
  archived: boolean;
  layout: Layout | null;
  dateFormat: string | null;
  output: 'png' | 'pdf';
  template: { width: number; height: number; type: string } | null;
  logo?: { url: string; type: string } | null;
  customFields?: CustomField[];
  mail: {
    subject: string | null;
    body: string | null;
    ratePerSec: number | null;
    dailyLimit: number | null;
    smtp: SmtpView;
    fromName?: string | null;
    replyTo?: string | null;
    bounceMailbox?: { source: 'campaign' | 'environment'; host: string; port: number; user: string; mailbox: string; tls: boolean } | null;
  };
  counts: Counts & { failed?: number };
  sending: 'idle' | 'sending' | 'paused';
  createdAt: number;
}
export interface Recipient {
  id: number | string;
  email: string;
  number: string | null;
  name: string | null;
  status: number;
  failure: string | null;
  noticeCount: number;
  certificateId: string | null;
  fields?: Record<string, string>;
  certificate?: CertificateState | null;
  updatedAt: number;
  unsubscribedAt?: number | null;
  bouncedAt?: number | null;
}
export interface Progress {
  counts: Counts;
  failed: { count: number; latest: Array<{ email: string; reason: string; at: number }> };
  sending: 'idle' | 'sending' | 'paused';
  ratePerMin: number;
  etaSeconds: number | null;
  quota: { dailyLimit: number | null; usedToday: number; pausedUntil: number | null };
  /** Set while the SMTP server fails at the connection level: sending waits and probes it. */
  outage?: { reason: string; nextProbeAt: number | null; probes: number } | null;
  optOut?: { unsubscribed: number; bounced: number; blocked: number };
  /** Sent, claimed and failed per minute over the last 15 minutes (the fleet's, from the database). */
  history?: Array<{ at: number; sent: number; claimed: number; failed: number }>;
}
export interface DkimRecord {
  name: string;
  type: 'TXT';
  value: string;
}
export interface DkimKey {
  domain: string;
  selector: string;
  source: 'console' | 'environment';
  record: DkimRecord;
  updatedAt: number;
}
export interface HeaderPreview {
  headers: Array<{ name: string; value: string }>;
  raw: string;
  from: string;
  fromName: string | null;
  replyTo: string | null;
  dkim: { domain: string; selector: string } | null;
  transport: 'campaign-smtp' | 'global-smtp' | 'dev-mailbox';
}
export interface BlockedAddress {
  email: string;
  reason: string;
  campaignId: number | null;
  messageId: string | null;
  createdAt: number;
}
export interface ImportResult {
  added: number;
  duplicates: Array<{ line: string; lineNo: number; email: string }>;
  rejected: Array<{ line: string; lineNo: number; reason: string }>;
}

export type ColumnRole = 'email' | 'number' | 'name' | 'field' | 'ignore';
export interface ColumnMapping {
  email: number;
  number?: number | null;
  name?: number | null;
  fields?: Array<{ index: number; label: string }>;
  header: boolean;
}
export interface ImportPreview {
  format: 'csv' | 'xlsx';
  encoding: string | null;
  separator: string | null;
  totalRows: number;
  columns: Array<{ index: number; title: string; role: ColumnRole }>;
  mapping: ColumnMapping;
  rows: Array<{ lineNo: number; cells: string[] }>;
  willAdd: number;
  alreadyInCampaign: number;
  duplicates: number;
  rejected: number;
  problems: Array<{ line: string; lineNo: number; reason: string }>;
}
export interface DeleteResult {
  deleted: number;
  certificatesKept: number;
  certificatesRevoked: number;
  missing: number[];
}

function fileForm(file: Blob, options?: Record<string, unknown>): FormData {
  const form = new FormData();
  form.append('file', file, (file as File).name ?? 'import.csv');
  if (options) form.append('options', JSON.stringify(options));
  return form;
}

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}
export function setToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage blocked: the token lives only in memory for this page
  }
}

let onUnauthorized: () => void = () => {};
/** Set by the router: where a 401 sends the organizer. */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

/** An admin call: adds the bearer token; a 401 clears it and goes back to sign-in. */
export async function call<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
  const token = getToken();
  try {
    return await request<T>(path.startsWith('/') ? path : `${BASE}/${path}`, {
      ...opts,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...opts.headers },
    });
  } catch (err) {
    if (err instanceof HttpError && err.status === 401) {
      setToken(null);
      onUnauthorized();
    }
    throw err;
  }
}

export const api = {
  checkToken: (token: string) =>
    request<{ ok: boolean }>(`${BASE}/session`, { headers: { authorization: `Bearer ${token}` }, timeoutMs: 10_000 }),
  campaigns: (archived: boolean) => call<{ campaigns: Campaign[] }>(`campaigns?archived=${archived}`),
  campaign: (id: string) => call<Campaign>(`campaigns/${id}`),
  createCampaign: (body: { name: string; slug?: string }) => call<Campaign>('campaigns', { method: 'POST', body }),
  updateCampaign: (id: string, body: Record<string, unknown>) => call<Campaign>(`campaigns/${id}`, { method: 'PATCH', body }),
  archive: (id: string, archived: boolean) =>
    call<Campaign>(`campaigns/${id}/${archived ? 'archive' : 'unarchive'}`, { method: 'POST', body: {} }),
  uploadTemplate: (id: string, file: File) => {
    const form = new FormData();
    form.append('template', file, file.name);
    return call<{ width: number; height: number; type: string }>(`campaigns/${id}/template`, {
      method: 'PUT',
      body: form,
      timeoutMs: 120_000,
    });
  },
  templateImage: (id: string) => call<Blob>(`campaigns/${id}/template`, { as: 'blob', headers: { accept: 'image/*' }, timeoutMs: 60_000 }),
  preview: (id: string, body: { name?: string; number?: string; layout?: Layout; fields?: Record<string, string> }, signal?: AbortSignal) =>
    call<Blob>(`campaigns/${id}/preview`, {
      method: 'POST',
      body,
      as: 'blob',
      headers: { accept: 'image/png, application/json' },
      signal,
      timeoutMs: 30_000,
    }),
  importLines: (id: string, lines: string[], columns?: string[]) =>
    call<ImportResult>(`campaigns/${id}/recipients`, {
      method: 'POST',
      body: columns ? { lines, columns } : { lines },
      timeoutMs: 120_000,
    }),
  recipients: (id: string, q: { q?: string; status?: string; failed?: boolean; page: number; limit: number }) => {
    const p = new URLSearchParams({ page: String(q.page), limit: String(q.limit) });
    if (q.q) p.set('q', q.q);
    if (q.status) p.set('status', q.status);
    if (q.failed) p.set('failed', 'true');
    return call<{ items: Recipient[]; total: number; totalCapped?: boolean; searchedRows?: number; page: number; limit: number }>(
      `campaigns/${id}/recipients?${p}`,
    );
  },
  previewFile: (id: string, file: Blob, options?: { mapping?: ColumnMapping }) =>
    call<ImportPreview>(`campaigns/${id}/recipients/preview`, { method: 'POST', body: fileForm(file, options), timeoutMs: 300_000 }),
  importFile: (id: string, file: Blob, options?: { mapping?: ColumnMapping }) =>
    call<ImportResult & { format: string; encoding: string | null; separator: string | null }>(`campaigns/${id}/recipients/import`, {
      method: 'POST',
      body: fileForm(file, options),
      timeoutMs: 600_000,
    }),
  editRecipient: (
    id: string,
    rid: string | number,
    body: { email?: string; name?: string | null; number?: string | null; notify?: boolean },
  ) => call<Recipient & { reissued: boolean; notified: boolean }>(`campaigns/${id}/recipients/${rid}`, { method: 'PATCH', body }),
  deleteRecipients: (id: string, ids: number[], certificate?: 'keep' | 'revoke', reason?: string) =>
    call<DeleteResult>(`campaigns/${id}/recipients/delete`, {
      method: 'POST',
      body: { ids, ...(certificate ? { certificate } : {}), ...(reason ? { reason } : {}) },
    }),
  exportCsv: (id: string) =>
    call<Blob>(`campaigns/${id}/recipients.csv`, { as: 'blob', headers: { accept: 'text/csv' }, timeoutMs: 300_000 }),
  resend: (id: string, rid: string | number) => call<Recipient>(`campaigns/${id}/recipients/${rid}/resend`, { method: 'POST', body: {} }),
  newLink: (id: string, rid: string | number) =>
    call<Recipient>(`campaigns/${id}/recipients/${rid}/new-link`, { method: 'POST', body: {} }),
  revoke: (id: string, rid: string | number, reason: string) =>
    call<Recipient>(`campaigns/${id}/recipients/${rid}/revoke`, { method: 'POST', body: { reason } }),
  reissue: (id: string, rid: string | number, name: string) =>
    call<Recipient>(`campaigns/${id}/recipients/${rid}/reissue`, { method: 'POST', body: { name } }),
  uploadLogo: (id: string, file: File) => {
    const form = new FormData();
    form.append('logo', file);
    return call<{ url: string }>(`campaigns/${id}/logo`, { method: 'PUT', body: form });
  },
  deleteLogo: (id: string) => call<void>(`campaigns/${id}/logo`, { method: 'DELETE' }),
  certificatesZip: (id: string) =>
    call<Blob>(`campaigns/${id}/certificates.zip`, { as: 'blob', headers: { accept: 'application/zip' }, timeoutMs: 3_600_000 }),
  printPdf: (id: string, recipientIds: number[]) =>
    call<Blob>(`campaigns/${id}/certificates/print`, {
      method: 'POST',
      body: { recipientIds },
      as: 'blob',
      headers: { accept: 'application/pdf' },
      timeoutMs: 600_000,
    }),
  reset: (id: string, rid: string | number) => call<Recipient>(`campaigns/${id}/recipients/${rid}/reset`, { method: 'POST', body: {} }),
  certificate: (id: string, rid: string | number) =>
    call<Blob>(`campaigns/${id}/recipients/${rid}/certificate`, { as: 'blob', headers: { accept: '*/*' }, timeoutMs: 60_000 }),
  toSend: (id: string) => call<{ toSend: number }>(`campaigns/${id}/send`),
  send: (id: string) => call<{ queued: number }>(`campaigns/${id}/send`, { method: 'POST', body: {} }),
  pause: (id: string) => call<Progress>(`campaigns/${id}/pause`, { method: 'POST', body: {} }),
  resume: (id: string) => call<Progress>(`campaigns/${id}/resume`, { method: 'POST', body: {} }),
  progress: (id: string) => call<Progress>(`campaigns/${id}/progress`),
  retryFailed: (id: string) =>
    call<{ notices: number; certificates: number }>(`campaigns/${id}/retry-failed`, { method: 'POST', body: {} }),
  testMail: (id: string, to: string) =>
    call<{ ok: boolean; response: string }>(`campaigns/${id}/mail/test`, { method: 'POST', body: { to }, timeoutMs: 60_000 }),
  mailHeaders: (id: string) => call<HeaderPreview>(`campaigns/${id}/mail/headers`, { method: 'POST', body: {} }),
  dkimKeys: () => call<{ items: DkimKey[] }>('dkim'),
  putDkim: (domain: string, body: { selector: string; privateKey?: string }) =>
    call<DkimKey>(`dkim/${encodeURIComponent(domain)}`, { method: 'PUT', body }),
  deleteDkim: (domain: string) => call<{ ok: true }>(`dkim/${encodeURIComponent(domain)}`, { method: 'DELETE' }),
  checkDkim: (domain: string) =>
    call<{
      domain: string;
      record: DkimRecord;
      state: 'published' | 'different_key' | 'absent' | 'unreachable';
      found: string[];
      error?: string;
    }>(`dkim/${encodeURIComponent(domain)}/check`, { method: 'POST', body: {}, timeoutMs: 20_000 }),
  blocklist: (q: { q?: string; page: number; limit: number }) => {
    const p = new URLSearchParams({ page: String(q.page), limit: String(q.limit) });
    if (q.q) p.set('q', q.q);
    return call<{ items: BlockedAddress[]; total: number }>(`blocklist?${p}`);
  },
  unblock: (email: string) => call<{ ok: true }>(`blocklist/${encodeURIComponent(email)}`, { method: 'DELETE' }),
  checkBounces: (id: string) =>
    call<{ read: number; hard: number; soft: number; unmatched: number; unsubscribed: number }>(`campaigns/${id}/bounces/check`, {
      method: 'POST',
      body: {},
      timeoutMs: 120_000,
    }),
  mailPreview: (id: string, body: { subject?: string; body?: string }) =>
    call<{ subject: string; html: string; text: string }>(`campaigns/${id}/mail/preview`, { method: 'POST', body }),
};

/**
 * Streams progress over server-sent events with the bearer token (EventSource cannot send
 * headers, so this reads the stream with fetch). Calls `onProgress` per event; resolves when the
 * stream ends; rejects on failure (the caller falls back to polling).
 */
export async function streamProgress(id: string, onProgress: (p: Progress) => void, signal: AbortSignal): Promise<void> {
  const res = await call<Response>(`campaigns/${id}/progress/stream`, {
    as: 'response',
    headers: { accept: 'text/event-stream' },
    signal,
    timeoutMs: 15_000,
  });
  if (!res.body) throw new NetworkError('no stream');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let cut: number;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if ((event === 'progress' || event === 'message') && data.length) {
        try {
          onProgress(JSON.parse(data.join('\n')) as Progress);
        } catch {
          // a malformed event: skip it, the next one carries the full state
        }
      }
    }
  }
}

/** A message for any error, in the page's language (`t` from vue-i18n). */
export function errorText(err: unknown, t: (k: string, v?: Record<string, unknown>) => string): string {
  if (err instanceof NetworkError) return err.timedOut ? t('errors.timeout') : t('errors.network');
  if (err instanceof HttpError) {
    if (err.status >= 500 && err.status !== 502) return t('errors.server', { status: err.status, message: err.message });
    return err.message || t('errors.http', { status: err.status });
  }
  return err instanceof Error ? err.message : String(err);
}

/** Saves a Blob as a file through a temporary link. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
