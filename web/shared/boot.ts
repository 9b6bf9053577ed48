/**
 * Starts one of the Vue page sets (console, account pages, assistant) the same way: the language
 * from the browser or the switch (`vh.lang`, shared by every page), every error nobody caught
 * handed to the page's boundary, so a page is never left blank, and a document title per page
 * (`titles.<route name>` · `app.title`, in the page's language), so tabs, history and bookmarks
 * tell the pages apart.
 */
import { createApp, watch, type Component } from 'vue';
import { createI18n } from 'vue-i18n';
import type { Router } from 'vue-router';
import { detectLang } from './http';

export const LANG_KEY = 'vh.lang';

export function bootVueApp(opts: {
  app: Component;
  router: Router;
  messages: Record<string, Record<string, unknown>>;
  reportError: (err: unknown) => void;
}): void {
  const i18n = createI18n({ legacy: false, locale: detectLang(LANG_KEY), fallbackLocale: 'en', messages: opts.messages as never });
  document.documentElement.lang = i18n.global.locale.value === 'zh' ? 'zh-CN' : 'en';
  const g = i18n.global as unknown as { t: (k: string) => string; te: (k: string) => boolean };
  const setTitle = () => {
    const key = `titles.${String(opts.router.currentRoute.value.name ?? '')}`;
    const app = g.t('app.title');
    document.title = g.te(key) ? `${g.t(key)} · ${app}` : app;
  };
  opts.router.afterEach(setTitle);
  watch(i18n.global.locale, setTitle);
  const app = createApp(opts.app);
  app.config.errorHandler = (err) => opts.reportError(err);
  window.addEventListener('unhandledrejection', (e) => opts.reportError(e.reason));
  app.use(i18n).use(opts.router).mount('#app');
}
