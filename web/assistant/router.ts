/** Routes under /assistant/ (history mode; the server answers every /assistant/* with this page). */
import { createRouter, createWebHistory } from 'vue-router';
import { setUnauthorizedHandler } from './api';
import { forget, loadMe } from './session';
import { reportError } from './errors';

const PUBLIC = new Set(['login', 'register']);

export const router = createRouter({
  history: createWebHistory('/assistant/'),
  routes: [
    { path: '/login', name: 'login', component: () => import('./views/Login.vue') },
    { path: '/register', name: 'register', component: () => import('./views/Register.vue') },
    { path: '/', name: 'rules', component: () => import('./views/Rules.vue') },
    { path: '/accounts', name: 'accounts', component: () => import('./views/Accounts.vue') },
    { path: '/bind', name: 'bind', component: () => import('./views/Bind.vue') },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
});

router.beforeEach(async (to) => {
  if (PUBLIC.has(String(to.name))) return true;
  try {
    if (!(await loadMe())) return { name: 'login', query: { next: to.fullPath } };
  } catch (err) {
    // The server could not be asked: show why, and let the page try (and say so) itself.
    reportError(err);
  }
  return true;
});

setUnauthorizedHandler(() => {
  forget();
  const current = router.currentRoute.value;
  if (!PUBLIC.has(String(current.name))) void router.push({ name: 'login', query: { next: current.fullPath, expired: '1' } });
});
