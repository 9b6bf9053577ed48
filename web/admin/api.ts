/**
 * The console's client for the certificates v2 API: the admin token (sessionStorage only: gone
 * when the browser session ends), calls typed by the server's OpenAPI document (openapi-fetch over
 * web/generated/api-types.ts, see shared/api-client.ts), and a 401 handler that sends the
 * organizer back to sign-in. The types below are the server's, by name.
 */
import type { Middleware } from 'openapi-fetch';
import { createApiClient, ok, within, type CallOptions, type Json, type JsonBody } from '../shared/api-client';
import { HttpError, NetworkError } from '../shared/http';

export { HttpError, NetworkError };

const TOKEN_KEY = 'vh.admin.token';
export const BASE = '/api/v2/certificates';

export type Campaign = Json<'/api/v2/certificates/campaigns/{id}', 'get'>;
export type Layout = Campaign['layout'];
export type TextField = Layout['name'];
export type DateField = Layout['date'];
export type QrField = Layout['qr'];
export type Align = TextField['align'];
export type CustomField = NonNullable<Campaign['customFields']>[number];
export type SmtpView = Campaign['mail']['smtp'];
export type Recipient = Json<'/api/v2/certificates/campaigns/{id}/recipients', 'get'>['items'][number];
export type CertificateState = NonNullable<Recipient['certificate']>;
export type Progress = Json<'/api/v2/certificates/campaigns/{id}/progress', 'get'>;
export type Counts = Progress['counts'];
export type DkimKey = Json<'/api/v2/certificates/dkim', 'get'>['items'][number];
export type DkimRecord = DkimKey['record'];
export type HeaderPreview = Json<'/api/v2/certificates/campaigns/{id}/mail/headers', 'post'>;
export type BlockedAddress = Json<'/api/v2/certificates/blocklist', 'get'>['items'][number];
export type ImportResult = Json<'/api/v2/certificates/campaigns/{id}/recipients', 'post'>;
export type ImportPreview = Json<'/api/v2/certificates/campaigns/{id}/recipients/preview', 'post'>;
export type ColumnRole = ImportPreview['columns'][number]['role'];
export type ColumnMapping = ImportPreview['mapping'];
export type DeleteResult = Json<'/api/v2/certificates/campaigns/{id}/recipients/delete', 'post'>;
export type CampaignPatch = JsonBody<'/api/v2/certificates/campaigns/{id}', 'patch'>;

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

const auth = (): Record<string, string> => {
  const token = getToken();
  return token ? { authorization: `Bearer ${token}` } : {};
};
/** A 401 clears the token and goes back to sign-in. */
const unauthorized: Middleware = {
  onError({ error }) {
    if (error instanceof HttpError && error.status === 401) {
      setToken(null);
      onUnauthorized();
    }
  },
};
const client = createApiClient(auth);
client.use(unauthorized);
/** Without the stored token: checks a token before it is kept. */
const bare = createApiClient();

/**
 * A multipart upload: the path and the answer are typed by the document; the form's parts are
 * read by the route itself (@fastify/multipart), which the document does not describe.
 */
const withForm =
  (form: FormData, o: CallOptions) =>
  (req: Request): Promise<Response> =>
    within(o)(new Request(req, { body: form }));

const campaign = (id: string) => ({ path: { id } });
const recipient = (id: string, rid: string | number) => ({ path: { id, rid: Number(rid) } });
const at = (timeoutMs: number, signal?: AbortSignal) => within({ timeoutMs, signal });
const C = '/api/v2/certificates/campaigns/{id}' as const;

export const api = {
  checkToken: (token: string) =>
    ok(bare.GET('/api/v2/certificates/session', { headers: { authorization: `Bearer ${token}` }, fetch: at(10_000) })),
  session: () => ok(client.GET('/api/v2/certificates/session', { fetch: at(10_000) })),
  campaigns: (archived: boolean) =>
    ok(client.GET('/api/v2/certificates/campaigns', { params: { query: { archived: archived ? 'true' : 'false' } } })),
  campaign: (id: string) => ok(client.GET(C, { params: campaign(id) })),
  createCampaign: (body: JsonBody<'/api/v2/certificates/campaigns', 'post'>) => ok(client.POST('/api/v2/certificates/campaigns', { body })),
  updateCampaign: (id: string, body: CampaignPatch) => ok(client.PATCH(C, { params: campaign(id), body })),
  archive: (id: string, archived: boolean) =>
    archived ? ok(client.POST(`${C}/archive`, { params: campaign(id) })) : ok(client.POST(`${C}/unarchive`, { params: campaign(id) })),
  uploadTemplate: (id: string, file: File) => {
    const form = new FormData();
    form.append('template', file, file.name);
    return ok(client.PUT(`${C}/template`, { params: campaign(id), fetch: withForm(form, { timeoutMs: 120_000 }) }));
  },
  templateImage: (id: string) =>
    ok(client.GET(`${C}/template`, { params: campaign(id), parseAs: 'blob', headers: { accept: 'image/*' }, fetch: at(60_000) })),
  preview: (id: string, body: JsonBody<'/api/v2/certificates/campaigns/{id}/preview', 'post'>, signal?: AbortSignal) =>
    ok(
      client.POST(`${C}/preview`, {
        params: campaign(id),
        body,
        parseAs: 'blob',
        headers: { accept: 'image/png, application/json' },
        fetch: at(30_000, signal),
      }),
    ),
  importLines: (id: string, lines: string[], columns?: string[]) =>
    ok(client.POST(`${C}/recipients`, { params: campaign(id), body: columns ? { lines, columns } : { lines }, fetch: at(120_000) })),
  /** A page of volunteers: by `cursor` (a page's next / prev), `last`, or page number. */
  recipients: (
    id: string,
    q: { q?: string; status?: string; failed?: boolean; page?: number; cursor?: string; last?: boolean; limit: number },
  ) =>
    ok(
      client.GET(`${C}/recipients`, {
        params: {
          path: { id },
          query: {
            ...(q.last ? { last: 'true' } : q.cursor ? { cursor: q.cursor, page: q.page ?? 1 } : { page: q.page ?? 1 }),
            limit: q.limit,
            ...(q.q ? { q: q.q } : {}),
            ...(q.status ? { status: Number(q.status) } : {}),
            ...(q.failed ? { failed: 'true' } : {}),
          },
        },
      }),
    ),
  previewFile: (id: string, file: Blob, options?: { mapping?: ColumnMapping }) =>
    ok(client.POST(`${C}/recipients/preview`, { params: campaign(id), fetch: withForm(fileForm(file, options), { timeoutMs: 300_000 }) })),
  importFile: (id: string, file: Blob, options?: { mapping?: ColumnMapping }) =>
    ok(client.POST(`${C}/recipients/import`, { params: campaign(id), fetch: withForm(fileForm(file, options), { timeoutMs: 600_000 }) })),
  editRecipient: (id: string, rid: string | number, body: JsonBody<'/api/v2/certificates/campaigns/{id}/recipients/{rid}', 'patch'>) =>
    ok(client.PATCH(`${C}/recipients/{rid}`, { params: recipient(id, rid), body })),
  deleteRecipients: (id: string, ids: number[], certificate?: 'keep' | 'revoke', reason?: string) =>
    ok(
      client.POST(`${C}/recipients/delete`, {
        params: campaign(id),
        body: { ids, ...(certificate ? { certificate } : {}), ...(reason ? { reason } : {}) },
      }),
    ),
  exportCsv: (id: string) =>
    ok(client.GET(`${C}/recipients.csv`, { params: campaign(id), parseAs: 'blob', headers: { accept: 'text/csv' }, fetch: at(300_000) })),
  resend: (id: string, rid: string | number) => ok(client.POST(`${C}/recipients/{rid}/resend`, { params: recipient(id, rid) })),
  newLink: (id: string, rid: string | number) => ok(client.POST(`${C}/recipients/{rid}/new-link`, { params: recipient(id, rid) })),
  revoke: (id: string, rid: string | number, reason: string) =>
    ok(client.POST(`${C}/recipients/{rid}/revoke`, { params: recipient(id, rid), body: { reason } })),
  reissue: (id: string, rid: string | number, name: string) =>
    ok(client.POST(`${C}/recipients/{rid}/reissue`, { params: recipient(id, rid), body: { name } })),
  uploadLogo: (id: string, file: File) => {
    const form = new FormData();
    form.append('logo', file);
    return ok(client.PUT(`${C}/logo`, { params: campaign(id), fetch: withForm(form, {}) }));
  },
  deleteLogo: (id: string) => ok(client.DELETE(`${C}/logo`, { params: campaign(id) })),
  certificatesZip: (id: string) =>
    ok(
      client.GET(`${C}/certificates.zip`, {
        params: campaign(id),
        parseAs: 'blob',
        headers: { accept: 'application/zip' },
        fetch: at(3_600_000),
      }),
    ),
  printPdf: (id: string, recipientIds: number[]) =>
    ok(
      client.POST(`${C}/certificates/print`, {
        params: campaign(id),
        body: { recipientIds },
        parseAs: 'blob',
        headers: { accept: 'application/pdf' },
        fetch: at(600_000),
      }),
    ),
  reset: (id: string, rid: string | number) => ok(client.POST(`${C}/recipients/{rid}/reset`, { params: recipient(id, rid) })),
  certificate: (id: string, rid: string | number) =>
    ok(
      client.GET(`${C}/recipients/{rid}/certificate`, {
        params: recipient(id, rid),
        parseAs: 'blob',
        headers: { accept: '*/*' },
        fetch: at(60_000),
      }),
    ),
  toSend: (id: string) => ok(client.GET(`${C}/send`, { params: campaign(id) })),
  send: (id: string) => ok(client.POST(`${C}/send`, { params: campaign(id) })),
  pause: (id: string) => ok(client.POST(`${C}/pause`, { params: campaign(id) })),
  resume: (id: string) => ok(client.POST(`${C}/resume`, { params: campaign(id) })),
  progress: (id: string) => ok(client.GET(`${C}/progress`, { params: campaign(id) })),
  retryFailed: (id: string) => ok(client.POST(`${C}/retry-failed`, { params: campaign(id) })),
  testMail: (id: string, to: string) => ok(client.POST(`${C}/mail/test`, { params: campaign(id), body: { to }, fetch: at(60_000) })),
  mailHeaders: (id: string) => ok(client.POST(`${C}/mail/headers`, { params: campaign(id), body: {} })),
  dkimKeys: () => ok(client.GET('/api/v2/certificates/dkim')),
  putDkim: (domain: string, body: JsonBody<'/api/v2/certificates/dkim/{domain}', 'put'>) =>
    ok(client.PUT('/api/v2/certificates/dkim/{domain}', { params: { path: { domain } }, body })),
  deleteDkim: (domain: string) => ok(client.DELETE('/api/v2/certificates/dkim/{domain}', { params: { path: { domain } } })),
  checkDkim: (domain: string) =>
    ok(client.POST('/api/v2/certificates/dkim/{domain}/check', { params: { path: { domain } }, fetch: at(20_000) })),
  blocklist: (q: { q?: string; page: number; limit: number }) =>
    ok(client.GET('/api/v2/certificates/blocklist', { params: { query: { page: q.page, limit: q.limit, ...(q.q ? { q: q.q } : {}) } } })),
  unblock: (email: string) => ok(client.DELETE('/api/v2/certificates/blocklist/{email}', { params: { path: { email } } })),
  checkBounces: (id: string) => ok(client.POST(`${C}/bounces/check`, { params: campaign(id), fetch: at(120_000) })),
  mailPreview: (id: string, body: JsonBody<'/api/v2/certificates/campaigns/{id}/mail/preview', 'post'>) =>
    ok(client.POST(`${C}/mail/preview`, { params: campaign(id), body })),
};

/**
 * Streams progress over server-sent events with the bearer token (EventSource cannot send
 * headers, so this reads the stream with fetch). Calls `onProgress` per event; resolves when the
 * stream ends; rejects on failure (the caller falls back to polling).
 */
export async function streamProgress(id: string, onProgress: (p: Progress) => void, signal: AbortSignal): Promise<void> {
  const body = await ok(
    client.GET(`${C}/progress/stream`, {
      params: campaign(id),
      parseAs: 'stream',
      headers: { accept: 'text/event-stream' },
      fetch: at(15_000, signal),
    }),
  );
  if (!body) throw new NetworkError('no stream');
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
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
