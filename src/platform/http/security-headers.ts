/**
 * Security headers for pages (issue 10 item 13): `@fastify/helmet` with a Content-Security-Policy
 * made for each page, registered in an encapsulated scope that holds only the page routes, so its
 * hooks never run on the JSON API (getUserInfo, the mini-program, the WeChat webhook answer with
 * no extra work per request).
 *
 * The policy is strict: scripts and styles from our own origin only, plus the exact SHA-256 of any
 * inline `<script>`/`<style>` the page really serves (computed from the HTML it sends, so a rebuild
 * of the pages is followed without a restart); no eval, no plugins, no framing, no `<base>`.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import helmet from '@fastify/helmet';

/** What a page needs beyond the strict default. */
export interface PagePolicy {
  /** The HTML the page is serving now (its inline scripts and styles get hashes); null when unknown. */
  html?: () => string | null;
  /**
   * Inline styles allowed: only for pages that show mail HTML in a sandboxed `srcdoc` frame (the
   * organizer's mail preview, the dev mailbox): such a frame inherits the page's policy, and mail
   * is styled inline. Scripts stay strict there.
   */
  inlineStyles?: boolean;
  /** `form-action` (default `'self'`). */
  formAction?: string;
  /** `img-src` (default `'self' data: blob:`). */
  imgSrc?: string[];
  /** A complete policy instead of the default one (a server-rendered page that needs even less). */
  directives?: Record<string, string[]>;
}

const hashCache = new Map<string, { script: string[]; style: string[] }>();

/** `'sha256-…'` sources of the inline scripts and styles in `html` (memoized per document). */
export function inlineSources(html: string): { script: string[]; style: string[] } {
  const hit = hashCache.get(html);
  if (hit) return hit;
  const h = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
  const out = {
    script: [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi)].map((m) => h(m[1])),
    style: [...html.matchAll(/<style[^>]*>([\s\S]*?)<\/style>/gi)].map((m) => h(m[1])),
  };
  if (hashCache.size > 64) hashCache.clear();
  hashCache.set(html, out);
  return out;
}

/** The CSP directives of a page (helmet's form: functions are evaluated per response). */
export function pageDirectives(p: PagePolicy = {}): Record<string, Array<string | (() => string)>> {
  const current = () => {
    const html = p.html?.();
    return html ? inlineSources(html) : { script: [], style: [] };
  };
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'", () => current().script.join(' ')],
    'style-src': p.inlineStyles ? ["'self'", "'unsafe-inline'"] : ["'self'", () => current().style.join(' ')],
    'img-src': p.imgSrc ?? ["'self'", 'data:', 'blob:'],
    'font-src': ["'self'", 'data:'],
    // blob: — pages read back the previews and exports they made (fetch of a blob: URL is a connection).
    'connect-src': ["'self'", 'blob:'],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': [p.formAction ?? "'self'"],
    'frame-ancestors': ["'none'"],
  };
}

/**
 * Registers `routes` in their own scope with helmet and the page's policy. Helmet's other headers
 * keep their defaults (nosniff, frame denial, no referrer, HSTS that browsers ignore over http)
 * except `upgrade-insecure-requests`, which would break an instance served over plain http on a
 * LAN address.
 */
export function registerPages(app: FastifyInstance, policy: PagePolicy, routes: (scope: FastifyInstance) => void | Promise<void>) {
  return app.register(async (scope) => {
    await scope.register(helmet, {
      global: true,
      contentSecurityPolicy: { useDefaults: false, directives: policy.directives ?? pageDirectives(policy) },
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
    });
    await routes(scope);
  });
}
