/**
 * The auto-reply assistant (`/assistant`): Vue 3 + vue-router + vue-i18n, phone width first.
 * Errors nobody caught reach the boundary in App.vue, so a page is never left blank.
 */
import '../shared/base.css';
import './assistant.css';
import App from './App.vue';
import { router } from './router';
import { messages } from './messages';
import { reportError } from './errors';
import { bootVueApp } from '../shared/boot';

bootVueApp({ app: App, router, messages, reportError });
