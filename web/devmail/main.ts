/**
 * The dev mailbox page (`/dev/mail`, `/dev/mail/<id>`): every message the service would have sent
 * when no SMTP is configured. A list (newest first, refreshed every few seconds) and the open
 * message: headers, the HTML body in a sandboxed iframe (links open in a new tab, scripts never
 * run), the text body, attachments (images shown, every file downloadable) and the raw .eml.
 * The mailbox holds every private link, so it needs the organizer's admin token: kept in
 * sessionStorage under the console's own key (a tab signed in to the console has it), asked for
 * otherwise; files are fetched with it and shown from blob: URLs. Developer tool: English only.
 */
import '../shared/base.css';
import './devmail.css';
import { HttpError, request } from '../shared/http';
import { escapeHtml as esc } from '../../src/platform/text/html';

interface Summary {
  id: number;
  to: string;
  from: string;
  subject: string;
  createdAt: number;
  attachments: number;
}
interface Detail extends Omit<Summary, 'attachments'> {
  messageId: string;
  date: string | null;
  html: string | null;
  text: string | null;
  attachments: Array<{ index: number; filename: string; contentType: string; size: number }>;
}

const API = '/api/v2/dev/mail';
const TOKEN_KEY = 'vh.admin.token';
let memoryToken: string | null = null;

function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? memoryToken;
  } catch {
    return memoryToken;
  }
}
function setToken(token: string | null): void {
  memoryToken = token;
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage blocked: the token lives in memory for this page only
  }
}

/** Thrown when the page has no (valid) admin token: the sign-in form is shown. */
class NeedToken extends Error {}

/** A mailbox call with the admin token; a 401 forgets the token and asks for it again. */
async function api<T>(url: string, opts: Parameters<typeof request>[1] = {}): Promise<T> {
  const token = getToken();
  if (!token) throw new NeedToken('');
  try {
    return await request<T>(url, { ...opts, headers: { authorization: `Bearer ${token}`, ...opts.headers } });
  } catch (err) {
    if (err instanceof HttpError && err.status === 401) {
      setToken(null);
      throw new NeedToken(err.message);
    }
    throw err;
  }
}
const root = document.getElementById('app') as HTMLElement;

const state = {
  items: [] as Summary[],
  listError: '' as string,
  unavailable: '' as string,
  openId: idFromPath(),
  detail: null as Detail | null,
  detailError: '',
  view: 'html' as 'html' | 'text',
  loadingList: true,
  needToken: getToken() === null,
  tokenError: '',
};

function idFromPath(): number | null {
  const m = /^\/dev\/mail\/(\d+)/.exec(location.pathname);
  return m ? Number(m[1]) : null;
}

const time = (ms: number) => new Date(ms).toLocaleString();
const size = (n: number) => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`);

function describe(err: unknown): string {
  if (err instanceof HttpError) return `${err.message} (HTTP ${err.status})`;
  return `Could not reach the server (${(err as Error)?.message ?? err}).`;
}

function listHtml(): string {
  if (state.loadingList && !state.items.length) return `<p class="muted pad"><span class="spinner"></span> Loading…</p>`;
  const err = state.listError
    ? `<div class="alert alert-error" role="alert">${esc(state.listError)} <button class="btn btn-sm" data-action="refresh">Retry</button></div>`
    : '';
  if (!state.items.length)
    return `${err}<p class="muted pad" data-testid="empty">No messages yet. Send something from the <a href="/admin">console</a>.</p>`;
  return `${err}<ul class="mail-list" data-testid="mail-list">${state.items
    .map(
      (m) => `<li><a href="/dev/mail/${m.id}" data-id="${m.id}" class="${m.id === state.openId ? 'active' : ''}" data-testid="mail-item">
        <div class="row between"><strong class="ellipsis">${esc(m.subject || '(no subject)')}</strong>${m.attachments ? `<span class="chip" data-testid="attachment-count">${m.attachments} ${m.attachments === 1 ? 'attachment' : 'attachments'}</span>` : ''}</div>
        <div class="small muted ellipsis">to ${esc(m.to)}</div><div class="small muted">${esc(time(m.createdAt))}</div></a></li>`,
    )
    .join('')}</ul>`;
}

function detailHtml(): string {
  if (state.openId === null) return `<p class="muted pad">Pick a message from the list.</p>`;
  if (state.detailError)
    return `<div class="alert alert-error" role="alert">${esc(state.detailError)} <button class="btn btn-sm" data-action="reopen">Retry</button></div>`;
  const d = state.detail;
  if (!d || d.id !== state.openId) return `<p class="muted pad"><span class="spinner"></span> Opening…</p>`;
  const atts = d.attachments
    .map((a) => {
      const url = `${API}/${d.id}/attachments/${a.index}`;
      const img = a.contentType.startsWith('image/')
        ? `<img data-src="${url}" alt="${esc(a.filename)}" class="att-img" data-testid="attachment-image" />`
        : '';
      return `<li>${img}<a href="${url}" data-download="${esc(a.filename)}" data-testid="attachment">${esc(a.filename)}</a> <span class="small muted">${esc(a.contentType)}, ${size(a.size)}</span></li>`;
    })
    .join('');
  const body =
    state.view === 'html' && d.html !== null
      ? `<iframe class="mail-frame" title="message body" sandbox="allow-popups allow-popups-to-escape-sandbox" data-testid="mail-html"></iframe>`
      : `<pre class="mail-text" data-testid="mail-text">${esc(d.text ?? '(no text part)')}</pre>`;
  return `<article class="stack" data-testid="mail-detail">
    <h2>${esc(d.subject || '(no subject)')}</h2>
    <dl class="meta"><dt>From</dt><dd>${esc(d.from)}</dd><dt>To</dt><dd>${esc(d.to)}</dd><dt>Date</dt><dd>${esc(d.date ?? time(d.createdAt))}</dd><dt>Message-ID</dt><dd class="small">${esc(d.messageId)}</dd></dl>
    <div class="row"><button class="btn btn-sm ${state.view === 'html' ? 'btn-primary' : ''}" data-action="view-html" ${d.html === null ? 'disabled' : ''}>HTML</button>
      <button class="btn btn-sm ${state.view === 'text' ? 'btn-primary' : ''}" data-action="view-text">Text</button>
      <a class="btn btn-sm" href="${API}/${d.id}/raw" data-download="message-${d.id}.eml">Raw .eml</a></div>
    ${body}
    ${atts ? `<h3>Attachments</h3><ul class="atts">${atts}</ul>` : ''}
  </article>`;
}

function tokenHtml(): string {
  return `<main class="wrap"><form class="card stack token-form" data-testid="token-form">
    <h1>Dev mailbox</h1>
    <p>Messages here hold private links and codes: enter the organizer's admin token (the one the console asks for).</p>
    ${state.tokenError ? `<div class="alert alert-error" role="alert" data-testid="token-error">${esc(state.tokenError)}</div>` : ''}
    <label class="field"><span>Admin token</span><input class="input" type="password" name="token" autocomplete="current-password" required data-testid="token" /></label>
    <div><button class="btn btn-primary" type="submit" data-testid="token-submit">Open the mailbox</button></div>
  </form></main>`;
}

/** Loads attachment images with the token (an <img src> cannot send it). */
function loadImages(): void {
  root.querySelectorAll<HTMLImageElement>('img[data-src]').forEach((img) => {
    const url = img.dataset.src!;
    img.removeAttribute('data-src');
    api<Blob>(url, { as: 'blob', timeoutMs: 30_000 })
      .then((blob) => (img.src = URL.createObjectURL(blob)))
      .catch((err) => (img.alt = `${img.alt}: ${describe(err)}`));
  });
}

function render(): void {
  if (state.needToken) {
    root.innerHTML = tokenHtml();
    root.querySelector<HTMLInputElement>('[data-testid="token"]')?.focus();
    return;
  }
  if (state.unavailable) {
    root.innerHTML = `<main class="wrap"><section class="card stack" data-testid="unavailable"><h1>Dev mailbox unavailable</h1><p>${esc(state.unavailable)}</p></section></main>`;
    return;
  }
  root.innerHTML = `<header class="bar"><strong class="brand">Dev mailbox</strong><span class="small muted">messages the service would have sent (no SMTP configured)</span>
    <span class="grow"></span><button class="btn btn-sm" data-action="refresh">Refresh</button><button class="btn btn-sm btn-danger" data-action="clear">Empty</button></header>
    <div class="panes"><nav class="list">${listHtml()}</nav><section class="detail">${detailHtml()}</section></div>`;
  const frame = root.querySelector<HTMLIFrameElement>('.mail-frame');
  if (frame && state.detail?.html !== null && state.detail) {
    // Links open in a new tab: the sandbox forbids navigating this page.
    frame.srcdoc = `<base target="_blank">${state.detail.html}`;
  }
  loadImages();
}

function askToken(err: NeedToken): void {
  state.needToken = true;
  state.tokenError = err.message;
  render();
}

async function loadList(): Promise<void> {
  try {
    const out = await api<{ items: Summary[] }>(`${API}?limit=100`, { timeoutMs: 10_000 });
    const changed = JSON.stringify(out.items.map((i) => i.id)) !== JSON.stringify(state.items.map((i) => i.id));
    state.items = out.items;
    state.listError = '';
    state.loadingList = false;
    if (changed) renderList();
  } catch (err) {
    state.loadingList = false;
    if (err instanceof NeedToken) return askToken(err);
    if (err instanceof HttpError && err.status === 404) {
      state.unavailable = 'This server sends real mail (SMTP is configured), so there is no dev mailbox.';
      return render();
    }
    state.listError = describe(err);
    renderList();
  }
}

/** Repaints the list only, so an open message (and its iframe) is not reloaded by polling. */
function renderList(): void {
  const nav = root.querySelector('.list');
  if (nav) nav.innerHTML = listHtml();
  else if (!state.needToken) render();
}

async function open(id: number, push = true): Promise<void> {
  state.openId = id;
  state.detailError = '';
  if (push && location.pathname !== `/dev/mail/${id}`) history.pushState(null, '', `/dev/mail/${id}`);
  render();
  try {
    state.detail = await api<Detail>(`${API}/${id}`, { timeoutMs: 15_000 });
    state.view = state.detail.html !== null ? 'html' : 'text';
  } catch (err) {
    if (err instanceof NeedToken) return askToken(err);
    state.detailError = describe(err);
  }
  if (state.openId === id) render();
}

root.addEventListener('submit', (e) => {
  e.preventDefault();
  const input = root.querySelector<HTMLInputElement>('[data-testid="token"]');
  const token = input?.value.trim();
  if (!token) return;
  setToken(token);
  state.needToken = false;
  state.tokenError = '';
  state.loadingList = true;
  render();
  void loadList().then(() => {
    if (state.openId !== null && !state.needToken) void open(state.openId, false);
  });
});

/** Downloads a file with the token (a plain link cannot send it). */
async function download(url: string, filename: string): Promise<void> {
  try {
    const blob = await api<Blob>(url, { as: 'blob', timeoutMs: 60_000 });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = filename;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  } catch (err) {
    if (err instanceof NeedToken) return askToken(err);
    state.detailError = describe(err);
    render();
  }
}

root.addEventListener('click', (e) => {
  const target = e.target as HTMLElement;
  const file = target.closest<HTMLAnchorElement>('a[data-download]');
  if (file) {
    e.preventDefault();
    void download(file.getAttribute('href')!, file.dataset.download!);
    return;
  }
  const link = target.closest<HTMLAnchorElement>('a[data-id]');
  if (link && !e.metaKey && !e.ctrlKey) {
    e.preventDefault();
    void open(Number(link.dataset.id));
    return;
  }
  const action = target.closest<HTMLElement>('[data-action]')?.dataset.action;
  if (action === 'refresh') void loadList();
  if (action === 'reopen' && state.openId !== null) void open(state.openId, false);
  if (action === 'view-html' || action === 'view-text') {
    state.view = action === 'view-html' ? 'html' : 'text';
    render();
  }
  if (action === 'clear' && confirm('Delete every message in the dev mailbox?')) {
    void api(API, { method: 'DELETE' })
      .then(() => {
        state.items = [];
        state.openId = null;
        state.detail = null;
        history.pushState(null, '', '/dev/mail');
        render();
      })
      .catch((err) => {
        if (err instanceof NeedToken) return askToken(err);
        state.listError = describe(err);
        renderList();
      });
  }
});

window.addEventListener('popstate', () => {
  const id = idFromPath();
  if (id !== null) void open(id, false);
  else {
    state.openId = null;
    render();
  }
});

render();
if (!state.needToken) {
  void loadList();
  if (state.openId !== null) void open(state.openId, false);
}
setInterval(() => {
  if (document.visibilityState === 'visible' && !state.unavailable && !state.needToken) void loadList();
}, 3000);
