/**
 * The organizer console (`/admin`): Vue 3 + vue-router + vue-i18n. Errors nobody caught reach
 * the global boundary (App.vue shows them with a retry), so a page is never left blank.
 */
import '../shared/base.css';
import './admin.css';
import App from './App.vue';
import { router } from './router';
import { messages } from './messages';
import { reportError } from './errors';
import { bootVueApp } from '../shared/boot';

bootVueApp({ app: App, router, messages, reportError });
