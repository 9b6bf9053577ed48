/**
 * Routes under /accounts/ (history mode; the server answers every /accounts/* with this page).
 * `/active?code=` is the landing of the activation mail (the seed's active.html).
 */
import { createRouter, createWebHistory } from 'vue-router';
import { getSession, isMember } from './api';
import { reportError } from './errors';

export const router = createRouter({
  history: createWebHistory('/accounts/'),
  routes: [
    { path: '/register', name: 'register', component: () => import('./views/Register.vue') },
    { path: '/active', name: 'active', component: () => import('./views/Active.vue') },
    { path: '/login', name: 'login', component: () => import('./views/Login.vue') },
    { path: '/forgot', name: 'forgot', component: () => import('./views/Forgot.vue') },
    { path: '/password', name: 'password', component: () => import('./views/Password.vue'), meta: { auth: true } },
    { path: '/address', name: 'address', component: () => import('./views/Addresses.vue'), meta: { auth: true } },
    { path: '/', redirect: () => (isMember(getSession()) ? '/address' : '/login') },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
});

router.beforeEach((to) => {
  if (to.meta.auth && !isMember(getSession())) return { name: 'login', query: { next: to.fullPath } };
  return true;
});

// A page's code that fails to load (network gone, a new deploy replaced the files) would leave the
// page empty: the boundary in App.vue says so and offers a reload.
router.onError((err) => reportError(err));
