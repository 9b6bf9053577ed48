/**
 * Serves the built web pages (Vite output in dist/web): hashed assets under /web/ (cached for a
 * year: their names change with their content), precompressed at build time (brotli and gzip
 * siblings, `vite-plugin-compression2`) and chosen by Accept-Encoding with `Vary: Accept-Encoding`,
 * `/favicon.ico`, and the entry pages with history fallbacks: `/` -> the home page that points to
 * everything else, `/certificate` -> the volunteer claim page, `/admin` and `/admin/*` -> the organizer console,
 * `/dev/mail` -> the dev mailbox page, `/accounts/*` -> the member account pages, `/assistant/*` ->
 * the auto-reply assistant pages. Entry pages are never cached, so a new build is picked up
 * at once. When the pages have not been built, each entry answers a plain page saying how.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';
import { registerPages } from './security-headers.js';

/** Where `vite build` writes the pages: <project>/dist/web (same from src/ under tsx and from dist/). */
export const WEB_DIST = resolve(dirname(fileURLToPath(import.meta.url)), '../../../dist/web');

/** URL paths of the entry pages and the built HTML file each serves. */
export const WEB_ENTRIES = [
  { paths: ['/'], file: 'home.html', title: 'volunteer-hub' },
  { paths: ['/certificate'], file: 'certificate.html', title: 'Certificate' },
  { paths: ['/admin', '/admin/*'], file: 'admin.html', title: 'Organizer console' },
  { paths: ['/dev/mail', '/dev/mail/*'], file: 'dev-mail.html', title: 'Dev mailbox' },
  { paths: ['/accounts', '/accounts/*'], file: 'accounts.html', title: 'Account' },
  { paths: ['/assistant', '/assistant/*'], file: 'assistant.html', title: 'Auto-reply assistant' },
] as const;

const MISSING_BUILD = (title: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}: web pages not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1f2937}code{background:#f3f4f6;padding:.1rem .3rem;border-radius:4px}</style>
</head><body>
<h1>The web pages have not been built</h1>
<p>This server found no built pages in <code>dist/web</code>. Build them once with</p>
<p><code>npm run build</code></p>
<p>(<code>npm install</code> does this too), then reload this page. The JSON API and <a href="/docs">/docs</a> work without them.</p>
<p lang="zh">网页尚未构建：请先运行 <code>npm run build</code>，然后刷新本页。</p>
</body></html>`;

/**
 * Registers the pages on the app. `root` overrides the build folder (tests); `devMail: false`
 * leaves out the dev mailbox page (SMTP is configured).
 */
export async function registerWeb(app: FastifyInstance, opts: { root?: string; devMail?: boolean } = {}): Promise<void> {
  const root = opts.root ?? WEB_DIST;
  // Registered even before a build exists (wildcard mode looks files up per request), so a
  // build made while the server runs is served without a restart.
  await app.register(fastifyStatic, {
    root,
    prefix: '/web/',
    // The HTML entries are served by the routes below, never as /web/*.html.
    allowedPath: (path) => !path.endsWith('.html'),
    index: false,
    wildcard: true,
    decorateReply: false,
    // dist/web/assets/*.js.br and .gz, written by the build: no compression work per request.
    preCompressed: true,
    // (@fastify/static 10 passes the Fastify reply here.)
    setHeaders(reply: FastifyReply, path: string) {
      reply.header('cache-control', /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
      reply.header('x-content-type-options', 'nosniff');
    },
  });
  // Entry pages are tiny; re-read only when the file changed, so `npm run build` needs no restart.
  const cache = new Map<string, { mtime: number; html: string }>();
  const load = (file: string): string | null => {
    const full = join(root, file);
    try {
      const mtime = statSync(full).mtimeMs;
      const hit = cache.get(file);
      if (hit && hit.mtime === mtime) return hit.html;
      const html = readFileSync(full, 'utf8');
      cache.set(file, { mtime, html });
      return html;
    } catch {
      return null;
    }
  };
  const send = (reply: FastifyReply, file: string, title: string) => {
    const html = load(file);
    reply
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .type('text/html; charset=utf-8');
    if (html === null) return reply.status(503).send(MISSING_BUILD(title));
    return reply.send(html);
  };
  // Browsers and bookmark tools ask for /favicon.ico whatever the page says (the pages link the SVG).
  app.get('/favicon.ico', { schema: { hide: true } }, (_req, reply) => {
    let icon: Buffer;
    try {
      icon = readFileSync(join(root, 'favicon.ico'));
    } catch {
      return reply.status(404).send({ code: 'not_found', message: 'no favicon: the web pages have not been built (npm run build)' });
    }
    return reply.type('image/x-icon').header('cache-control', 'public, max-age=86400').send(icon);
  });
  for (const entry of WEB_ENTRIES) {
    // The dev mailbox exists only when no SMTP is configured.
    if (entry.file === 'dev-mail.html' && opts.devMail === false) continue;
    // Each page in its own helmet scope with its own CSP (security-headers.ts): the hashes of the
    // inline code it serves; inline styles only where mail HTML is shown in a srcdoc frame.
    await registerPages(
      app,
      {
        html: () => load(entry.file) ?? MISSING_BUILD(entry.title),
        inlineStyles: entry.file === 'admin.html' || entry.file === 'dev-mail.html',
      },
      (scope) => {
        for (const path of entry.paths) {
          scope.get(path, { schema: { hide: true } }, (_req, reply) => send(reply, entry.file, entry.title));
        }
      },
    );
  }
}
