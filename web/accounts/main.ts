/** Entry of the Account pages (placeholder until the pages land). */
import '../shared/base.css';

const app = document.getElementById('app');
if (app) app.textContent = 'Account · 账号';
