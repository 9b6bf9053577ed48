/** Entry of the Auto-reply pages (placeholder until the pages land). */
import '../shared/base.css';

const app = document.getElementById('app');
if (app) app.textContent = 'Auto-reply · 自动回复';
