/**
 * `/`: what a person sees first after `npm start`. Points to the console, the member and
 * assistant pages, the API reference, and the dev mailbox when the server keeps one. Vanilla TS:
 * one screen, no framework.
 */
import '../shared/base.css';
import './home.css';
import { detectLang, saveLang } from '../shared/http';
import { escapeHtml as esc } from '../../src/platform/text/html';
import { messages, type Lang } from './i18n';

const LANG_KEY = 'vh.lang';
const root = document.getElementById('app') as HTMLElement;
let lang: Lang = detectLang(LANG_KEY);
/** Whether /dev/mail exists (only without SMTP): the page answers 200 then, 404 otherwise. */
let devMail = false;

function card(href: string, title: string, body: string, testid: string): string {
  return `<li><a class="card home-card" href="${href}" data-testid="${testid}"><h2>${esc(title)}</h2><p class="muted">${esc(body)}</p><span class="path">${esc(href)}</span></a></li>`;
}

function render(): void {
  const w = messages[lang];
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = w.pageTitle;
  root.innerHTML = `<header class="home-top"><span class="brand"><img src="/web/icon.svg" alt="" />${esc(w.title)}</span>
    <button class="btn btn-sm" type="button" data-action="lang" lang="${lang === 'zh' ? 'en' : 'zh'}">${esc(w.switchTo)}</button></header>
    <main class="home-wrap stack">
      <h1>${esc(w.title)}</h1>
      <p class="muted">${esc(w.lead)}</p>
      <h2 class="sr-only">${esc(w.pages)}</h2>
      <ul class="home-grid">
        ${card('/admin', w.console, w.consoleBody, 'home-admin')}
        ${card('/accounts', w.accounts, w.accountsBody, 'home-accounts')}
        ${card('/assistant', w.assistant, w.assistantBody, 'home-assistant')}
        ${card('/docs', w.docs, w.docsBody, 'home-docs')}
        ${devMail ? card('/dev/mail', w.devMail, w.devMailBody, 'home-devmail') : ''}
      </ul>
      <p class="small muted">${esc(w.claimNote)}</p>
    </main>`;
}

root.addEventListener('click', (e) => {
  if (!(e.target as HTMLElement).closest('[data-action="lang"]')) return;
  lang = lang === 'zh' ? 'en' : 'zh';
  saveLang(LANG_KEY, lang);
  render();
});

render();
fetch('/dev/mail', { method: 'HEAD' }).then(
  (r) => {
    if (r.ok && !devMail) {
      devMail = true;
      render();
    }
  },
  () => undefined,
);
