/**
 * The volunteer claim page (`/certificate?token=...`), opened on phones from the notice email.
 * Vanilla TS on purpose: it must stay far under its 60 KB gzipped budget on slow networks.
 *
 * Screens, one per state: loading, missing link, unknown link, the form (email read-only, name
 * editable, server-rendered preview, debounced), name refused, network / server failure (retry
 * keeps what was typed), already claimed (download again), success (download now).
 * The form is rendered once per screen change; typing only patches the preview and the refusal
 * note, so the input never loses focus or its caret.
 */
import '../shared/base.css';
import './claim.css';
import { HttpError, detectLang, request, saveLang } from '../shared/http';
import { escapeHtml as esc } from '../../src/platform/text/html';
import { messages, type Lang } from './i18n';

interface ClaimInfo {
  email: string;
  name: string | null;
  /** The number printed on the certificate (the organizer's), if any: not the verification id. */
  number?: string | null;
  status: number;
  claimed: boolean;
  organization?: string | null;
  campaignName?: string | null;
  certificateId?: string | null;
  downloadUrl?: string | null;
  /** Where the certificate mail is: being made and mailed, failed (being retried), or sent. */
  delivery?: 'sending' | 'failed' | 'sent' | null;
}
interface Refusal {
  reason: string;
  message?: string;
  chars?: string[];
}
type Screen = 'loading' | 'missing' | 'unknown' | 'form' | 'refused' | 'failure' | 'claimed' | 'success';
type FailureKind = 'network' | 'server' | 'busy';

const API = '/api/v2/certificates/claim';
const MAX_NAME = 100;
/** Markup and code punctuation the server refuses in names (claims.ts MARKUP_CHARS). */
const MARKUP_CHARS = /[<>{}[\]\\;=|`]/g;
const LANG_KEY = 'vh.lang';
const PREVIEW_DELAY_MS = 450;

const root = document.getElementById('app') as HTMLElement;
// Tells the slow-load notice in certificate.html that the page's script is running.
root.setAttribute('data-started', '1');
const token = (new URLSearchParams(location.search).get('token') ?? '').trim();

const state = {
  lang: detectLang(LANG_KEY) as Lang,
  screen: 'loading' as Screen,
  info: null as ClaimInfo | null,
  name: '',
  refusal: null as Refusal | null,
  failure: null as { kind: FailureKind; retry: () => void } | null,
  downloadUrl: '',
  previewUrl: '',
  previewState: 'idle' as 'idle' | 'loading' | 'failed',
  submitting: false,
};

const t = () => messages[state.lang];
const $ = <T extends HTMLElement>(sel: string) => root.querySelector(sel) as T | null;

/** Checks what the page can check itself, before asking the server (which checks the font). */
function localCheck(name: string): Refusal | null {
  const trimmed = name.trim();
  if (!trimmed) return { reason: 'empty' };
  if ([...trimmed].length > MAX_NAME) return { reason: 'too_long' };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(trimmed)) return { reason: 'control_chars' };
  const markup = [...new Set(trimmed.match(MARKUP_CHARS) ?? [])];
  if (markup.length) return { reason: 'markup_chars', chars: markup };
  return null;
}

function refusalFrom(err: HttpError): Refusal {
  const chars = Array.isArray(err.body.chars) ? (err.body.chars as string[]) : undefined;
  return { reason: String(err.body.reason ?? ''), message: err.message, chars };
}

function refusalHtml(r: Refusal): string {
  const w = t().reason;
  let text: string;
  switch (r.reason) {
    case 'empty':
      text = w.empty;
      break;
    case 'too_long':
      text = w.too_long(MAX_NAME);
      break;
    case 'control_chars':
      text = w.control_chars;
      break;
    case 'unsupported_chars':
      text = w.unsupported_chars;
      break;
    case 'markup_chars':
      text = w.markup_chars;
      break;
    default:
      text = r.message || w.empty;
  }
  const chars = r.chars?.length
    ? `<div class="chars" data-testid="refused-chars">${r.chars.map((c) => `<code>${esc(c)} <small>U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}</small></code>`).join('')}</div>`
    : '';
  return `<div class="alert alert-error" role="alert" id="refusal-text" data-testid="refusal" data-reason="${esc(r.reason)}">${esc(text)}${chars}</div>`;
}

/**
 * The download address, always relative to this page: the server's absolute `downloadUrl` is
 * built from PUBLIC_URL, which may name another host than the one the volunteer opened.
 */
function downloadUrl(): string {
  return `${API}/download?token=${encodeURIComponent(token)}`;
}

// ---- rendering --------------------------------------------------------------------------------

function header(): string {
  const info = state.info;
  const title = info?.campaignName || t().title;
  const org = info?.organization ? `<div class="small muted">${esc(t().from(info.organization))}</div>` : '';
  return `<header class="top"><div class="top-title"><strong>${esc(title)}</strong>${org}</div>
    <button class="btn btn-sm" data-action="lang" lang="${state.lang === 'zh' ? 'en' : 'zh'}">${esc(t().switchTo)}</button></header>`;
}

/** Icon colour per screen: glyphs every phone font has (no emoji: some systems lack them). */
const TONE: Partial<Record<Screen, string>> = { success: 'ok', claimed: 'ok', failure: 'warn', refused: 'bad' };

function message(icon: string, title: string, body: string, actions = '', testid: string = state.screen): string {
  return `<section class="card screen stack" data-testid="screen-${testid}"><div class="icon ${TONE[state.screen] ?? ''}" aria-hidden="true">${esc(icon)}</div>
    <h1>${esc(title)}</h1><p class="muted">${esc(body)}</p>${actions}</section>`;
}

function certificateBlock(): string {
  const w = t();
  const url = esc(state.downloadUrl);
  const info = state.info;
  // Two different things, labelled apart: the number the organizer printed on the certificate,
  // and the random id its QR code verifies (with the page that does it).
  const number = info?.number ? `<dt>${esc(w.number)}</dt><dd data-testid="cert-number">${esc(info.number)}</dd>` : '';
  const id = info?.certificateId
    ? `<dt>${esc(w.verifyId)}</dt><dd><code data-testid="cert-id">${esc(info.certificateId)}</code> <a href="/verify/${encodeURIComponent(info.certificateId)}" data-testid="verify-link">${esc(w.verifyLink)}</a></dd>`
    : '';
  const facts = number || id ? `<dl class="facts small" data-testid="cert-facts">${number}${id}</dl>` : '';
  // The certificate may be a PDF: the image removes itself when it cannot show it (listener below).
  return `<img class="cert" src="${url}" alt="${esc(w.certAlt)}" data-testid="certificate-image" />${facts}
    <a class="btn btn-primary btn-block" href="${url}" download data-testid="download">${esc(w.download)}</a>`;
}

function formHtml(): string {
  const w = t();
  const info = state.info as ClaimInfo;
  return `<section class="card stack" data-testid="screen-form">
    <h1>${esc(w.formTitle)}</h1>
    <label class="field"><span>${esc(w.email)}</span><input class="input" data-testid="email" value="${esc(info.email)}" readonly /></label>
    <label class="field"><span>${esc(w.name)}</span>
      <input class="input" id="name" name="name" data-testid="name" autocomplete="name" maxlength="300" value="${esc(state.name)}" aria-describedby="name-hint refusal" />
      <div class="hint" id="name-hint">${esc(w.nameHint)}</div></label>
    <div id="refusal">${state.refusal ? refusalHtml(state.refusal) : ''}</div>
    <div><div class="small muted preview-label" id="preview-label">${esc(w.preview)}</div>
      <div class="preview" id="preview" data-testid="preview" aria-labelledby="preview-label"></div></div>
    <button class="btn btn-primary btn-block" id="submit" data-action="submit" data-testid="submit">${esc(w.submit)}</button>
    <p class="hint center">${esc(w.submitNote)}</p>
  </section>`;
}

function screenHtml(): string {
  const w = t();
  switch (state.screen) {
    case 'loading':
      return `<section class="card screen" data-testid="screen-loading"><h1 class="sr-only">${esc(w.title)}</h1><p><span class="spinner"></span> ${esc(w.loading)}</p></section>`;
    case 'missing':
      return message('?', w.missingTitle, w.missingBody);
    case 'unknown':
      return message('?', w.unknownTitle, w.unknownBody);
    case 'form':
      return formHtml();
    case 'refused':
      return `<section class="card screen stack" data-testid="screen-refused"><div class="icon bad" aria-hidden="true">!</div>
        <h1>${esc(w.refusedTitle)}</h1><p><strong>${esc(state.name.trim())}</strong></p>
        ${state.refusal ? refusalHtml(state.refusal) : ''}
        <button class="btn btn-primary btn-block" data-action="edit" data-testid="edit-name">${esc(w.editName)}</button></section>`;
    case 'failure': {
      const kind = state.failure?.kind ?? 'network';
      const [title, body, icon] =
        kind === 'busy'
          ? [w.busyTitle, w.busyBody, '…']
          : kind === 'server'
            ? [w.serverTitle, w.serverBody, '!']
            : [w.networkTitle, w.networkBody, '!'];
      const editing = Boolean(state.info && !state.info.claimed);
      const back = editing ? `<button class="btn btn-block" data-action="edit">${esc(w.back)}</button>` : '';
      // Show the typed name, so the volunteer sees nothing was lost.
      const typed =
        editing && state.name.trim()
          ? `<p class="kept" data-testid="kept-name">${esc(w.keptName)} <strong>${esc(state.name.trim())}</strong></p>`
          : '';
      return message(
        icon,
        title,
        body,
        `${typed}<button class="btn btn-primary btn-block" data-action="retry" data-testid="retry">${esc(w.retry)}</button>${back}`,
        `failure-${kind}`,
      );
    }
    case 'claimed': {
      // The truth about the certificate mail (issue 12.2): on its way, or failed and being retried.
      const d = state.info?.delivery;
      const note = d === 'failed' ? w.deliveryFailed : d === 'sending' ? w.deliverySending : '';
      const body = w.claimedBody(state.info?.name ?? '') + (note ? ` ${note}` : '');
      return message('✓', w.claimedTitle, body, certificateBlock());
    }
    case 'success':
      return message('✓', w.successTitle, w.successBody(state.info?.email ?? ''), certificateBlock());
  }
}

function render(): void {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = `${state.info?.campaignName || t().title}`;
  root.innerHTML = `${header()}<main class="wrap">${screenHtml()}</main>`;
  if (state.screen === 'form') {
    paintPreview();
    paintSubmit();
  }
}

function paintPreview(): void {
  const box = $('#preview');
  if (!box) return;
  const w = t();
  box.classList.toggle('busy', state.previewState === 'loading');
  box.setAttribute('data-state', state.previewState);
  const img = state.previewUrl
    ? `<img src="${state.previewUrl}" alt="${esc(w.previewAlt(state.name.trim()))}" data-testid="preview-image" />`
    : '';
  const status =
    state.previewState === 'loading'
      ? `<span class="status"><span class="spinner"></span> ${esc(w.previewLoading)}</span>`
      : state.previewState === 'failed'
        ? `<span class="status" data-testid="preview-failed">${esc(w.previewFailed)} <button class="btn btn-sm" data-action="preview">${esc(w.retry)}</button></span>`
        : '';
  const empty = !img && state.previewState === 'idle' ? `<span class="small muted">${esc(w.previewNone)}</span>` : '';
  box.innerHTML = img + status + empty;
}

function paintRefusal(): void {
  const el = $('#refusal');
  if (el) el.innerHTML = state.refusal ? refusalHtml(state.refusal) : '';
  const input = $('#name');
  input?.classList.toggle('invalid', Boolean(state.refusal));
  if (state.refusal) input?.setAttribute('aria-invalid', 'true');
  else input?.removeAttribute('aria-invalid');
  paintSubmit();
}

function paintSubmit(): void {
  const btn = $<HTMLButtonElement>('#submit');
  if (!btn) return;
  btn.disabled = state.submitting || Boolean(state.refusal);
  btn.innerHTML = state.submitting ? `<span class="spinner"></span> ${esc(t().submitting)}` : esc(t().submit);
}

function fail(err: unknown, retry: () => void): void {
  const kind: FailureKind = err instanceof HttpError ? (err.status === 429 ? 'busy' : 'server') : 'network';
  state.failure = { kind, retry };
  state.screen = 'failure';
}

// ---- actions ----------------------------------------------------------------------------------

async function load(): Promise<void> {
  if (!token) {
    state.screen = 'missing';
    return render();
  }
  state.screen = 'loading';
  render();
  try {
    const info = await request<ClaimInfo>(`${API}?token=${encodeURIComponent(token)}`);
    state.info = info;
    if (info.claimed || info.status >= 2) {
      state.downloadUrl = downloadUrl();
      state.screen = 'claimed';
    } else {
      state.name = info.name ?? '';
      state.screen = 'form';
      schedulePreview(0);
    }
  } catch (err) {
    if (err instanceof HttpError && err.status >= 400 && err.status < 500 && err.status !== 429) state.screen = 'unknown';
    else fail(err, () => void load());
  }
  render();
}

let previewTimer: ReturnType<typeof setTimeout> | undefined;
let previewCtl: AbortController | null = null;

function schedulePreview(delay = PREVIEW_DELAY_MS): void {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(() => void loadPreview(), delay);
}

async function loadPreview(): Promise<void> {
  const local = localCheck(state.name);
  if (local) {
    if (local.reason === 'empty') {
      // No preview of an empty name. Whether "please enter your name" shows is decided by what
      // the person did (cleared the box, or tried to submit), never by this delayed check: it
      // must not take back a message the person just got.
      previewCtl?.abort();
      if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
      state.previewUrl = '';
      state.previewState = 'idle';
      paintPreview();
    } else state.refusal = local;
    return paintRefusal();
  }
  previewCtl?.abort();
  const ctl = (previewCtl = new AbortController());
  state.previewState = 'loading';
  paintPreview();
  try {
    const blob = await request<Blob>(`${API}/preview`, {
      body: { token, name: state.name.trim() },
      headers: { accept: 'image/png, application/json' },
      as: 'blob',
      signal: ctl.signal,
      timeoutMs: 20_000,
    });
    if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
    state.previewUrl = URL.createObjectURL(blob);
    state.previewState = 'idle';
    state.refusal = null;
  } catch (err) {
    if (ctl.signal.aborted) return;
    if (err instanceof HttpError && err.code === 'name_refused') {
      state.refusal = refusalFrom(err);
      state.previewState = 'idle';
    } else if (err instanceof HttpError && (err.status === 404 || err.status === 410)) {
      state.screen = 'unknown';
      return render();
    } else if (err instanceof HttpError && err.status === 409) {
      return void load();
    } else {
      state.previewState = 'failed';
    }
  } finally {
    if (previewCtl === ctl) previewCtl = null;
  }
  paintPreview();
  paintRefusal();
}

async function submit(): Promise<void> {
  const local = localCheck(state.name);
  if (local) {
    state.refusal = local;
    paintRefusal();
    $('#name')?.focus();
    return;
  }
  if (state.screen !== 'form') {
    state.screen = 'form';
    render();
  }
  state.submitting = true;
  paintSubmit();
  try {
    await request<{ status: number; downloadUrl?: string | null }>(API, {
      body: { token, name: state.name.trim() },
      timeoutMs: 30_000,
    });
    state.downloadUrl = downloadUrl();
    if (state.info) state.info = { ...state.info, name: state.name.trim(), claimed: true };
    state.screen = 'success';
  } catch (err) {
    if (err instanceof HttpError && err.code === 'name_refused') {
      state.refusal = refusalFrom(err);
      state.screen = 'refused';
    } else if (err instanceof HttpError && err.status === 409) {
      state.submitting = false;
      return load();
    } else if (err instanceof HttpError && (err.status === 404 || err.status === 410)) {
      state.screen = 'unknown';
    } else {
      fail(err, () => void submit());
    }
  } finally {
    state.submitting = false;
  }
  render();
}

root.addEventListener('input', (e) => {
  const el = e.target as HTMLInputElement;
  if (el.id !== 'name') return;
  state.name = el.value;
  // A refusal follows the box as the person edits (emptying it says "please enter your name");
  // the debounced preview asks the server about the font.
  state.refusal = localCheck(state.name);
  paintRefusal();
  schedulePreview();
});

// The certificate may be a PDF, which an <img> cannot show: the image goes (error events do not
// bubble, hence the capture). A listener, not an inline handler, for the Content-Security-Policy.
root.addEventListener(
  'error',
  (e) => {
    const el = e.target as HTMLElement;
    if (el instanceof HTMLImageElement && el.dataset.testid === 'certificate-image') el.remove();
  },
  true,
);

root.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.target as HTMLElement).id === 'name') void submit();
});

root.addEventListener('click', (e) => {
  const el = (e.target as HTMLElement).closest<HTMLElement>('[data-action]');
  if (!el) return;
  switch (el.dataset.action) {
    case 'lang':
      state.lang = state.lang === 'zh' ? 'en' : 'zh';
      saveLang(LANG_KEY, state.lang);
      render();
      break;
    case 'submit':
      void submit();
      break;
    case 'retry':
      state.failure?.retry();
      break;
    case 'edit':
      state.screen = 'form';
      render();
      $<HTMLInputElement>('#name')?.focus();
      if (!state.previewUrl) schedulePreview(0);
      break;
    case 'preview':
      schedulePreview(0);
      break;
  }
});

void load();
