/** Console routes under /admin (history mode; the server answers every /admin/* with the console). */
import { createRouter, createWebHistory } from 'vue-router';
import { getToken, setUnauthorizedHandler } from './api';

export const router = createRouter({
  history: createWebHistory('/admin'),
  routes: [
    { path: '/signin', name: 'signin', component: () => import('./views/SignIn.vue') },
    { path: '/', name: 'campaigns', component: () => import('./views/Campaigns.vue') },
    {
      path: '/campaigns/:id',
      component: () => import('./views/CampaignShell.vue'),
      props: true,
      children: [
        { path: '', redirect: (to) => `/campaigns/${String(to.params.id)}/template` },
        { path: 'template', name: 'template', component: () => import('./views/TemplateEditor.vue') },
        { path: 'volunteers', name: 'volunteers', component: () => import('./views/Volunteers.vue') },
        { path: 'send', name: 'send', component: () => import('./views/Send.vue') },
        { path: 'mail', name: 'mail', component: () => import('./views/MailSettings.vue') },
        { path: 'emails', name: 'emails', component: () => import('./views/EmailTemplates.vue') },
        { path: 'settings', name: 'settings', component: () => import('./views/Settings.vue') },
      ],
    },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
});

router.beforeEach((to) => {
  if (to.name !== 'signin' && !getToken()) return { name: 'signin', query: { next: to.fullPath } };
  return true;
});

setUnauthorizedHandler(() => {
  const current = router.currentRoute.value;
  if (current.name !== 'signin') void router.push({ name: 'signin', query: { next: current.fullPath, expired: '1' } });
});
