/**
 * The auto-reply assistant (`/assistant`): Vue 3 + vue-router + vue-i18n, phone width first.
 * Errors nobody caught reach the boundary in App.vue, so a page is never left blank.
 */
import { createApp } from 'vue';
import { createI18n } from 'vue-i18n';
import '../shared/base.css';
import './assistant.css';
import App from './App.vue';
import { router } from './router';
import { messages } from './messages';
import { detectLang } from '../shared/http';
import { reportError } from './errors';

export const LANG_KEY = 'vh.lang';

const i18n = createI18n({ legacy: false, locale: detectLang(LANG_KEY), fallbackLocale: 'en', messages });
document.documentElement.lang = i18n.global.locale.value === 'zh' ? 'zh-CN' : 'en';

const app = createApp(App);
app.config.errorHandler = (err) => reportError(err);
window.addEventListener('unhandledrejection', (e) => reportError(e.reason));
app.use(i18n).use(router).mount('#app');
