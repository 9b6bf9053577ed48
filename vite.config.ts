/**
 * The web pages: six entries built into dist/web, served by src/platform/http/web.ts under /web/.
 * - home.html: `/`, the page that points to every other page and the API docs;
 * - certificate.html: the volunteer claim page (vanilla TS, budget 60 KB gzipped JS + CSS);
 * - admin.html: the organizer console (Vue + vue-router + vue-i18n);
 * - dev-mail.html: the dev mailbox viewer;
 * - accounts.html: the member account pages (register, activate, sign in, password, addresses);
 * - assistant.html: the auto-reply assistant pages (register, sign in, rules, official accounts).
 * The `budget` plugin prints each entry's gzipped size and fails the build when the claim page
 * goes over its budget; the figures are also written to dist/web/sizes.json (read by the tests).
 * `compression` writes a brotli (.br) and a gzip (.gz) sibling of every text asset, which the
 * server sends by Accept-Encoding (a 140 KB script is 45 KB gzipped, 40 KB in brotli). HTML is
 * left out: the entry pages are served by routes, never as files.
 */
import { gzipSync, constants as zlibConstants } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import vue from '@vitejs/plugin-vue';
import { compression, defineAlgorithm } from 'vite-plugin-compression2';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** Gzipped budgets per entry in bytes (JS + CSS the entry loads). */
const BUDGETS: Record<string, number> = { certificate: 60 * 1024 };

function budget(): Plugin {
  return {
    name: 'volunteer-hub:budget',
    apply: 'build',
    generateBundle(_opts, bundle) {
      const sizes: Record<string, { js: number; css: number; total: number; files: string[] }> = {};
      const gz = (code: string | Uint8Array) => gzipSync(code, { level: 9 }).length;
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk' || !chunk.isEntry) continue;
        const seen = new Set<string>();
        const css = new Set<string>();
        const walk = (name: string) => {
          if (seen.has(name)) return;
          seen.add(name);
          const c = bundle[name];
          if (!c || c.type !== 'chunk') return;
          for (const f of c.viteMetadata?.importedCss ?? []) css.add(f);
          c.imports.forEach(walk);
        };
        walk(chunk.fileName);
        let js = 0;
        for (const f of seen) {
          const c = bundle[f];
          if (c?.type === 'chunk') js += gz(c.code);
        }
        let cssSize = 0;
        for (const f of css) {
          const a = bundle[f];
          if (a?.type === 'asset') cssSize += gz(a.source);
        }
        sizes[chunk.name] = { js, css: cssSize, total: js + cssSize, files: [...seen, ...css] };
      }
      const lines = Object.entries(sizes).map(([name, s]) => {
        const limit = BUDGETS[name];
        const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
        return `  ${name.padEnd(12)} ${kb(s.total).padStart(9)} gzipped (JS ${kb(s.js)}, CSS ${kb(s.css)})${limit ? `  budget ${kb(limit)}` : ''}`;
      });
      process.stdout.write(`\nweb entry sizes (gzipped):\n${lines.join('\n')}\n`);
      for (const [name, limit] of Object.entries(BUDGETS)) {
        const s = sizes[name];
        if (s && s.total > limit) this.error(`${name} is ${s.total} bytes gzipped, over its budget of ${limit}`);
      }
      this.emitFile({ type: 'asset', fileName: 'sizes.json', source: JSON.stringify(sizes, null, 2) });
    },
  };
}

export default defineConfig({
  root: here('./web'),
  base: '/web/',
  plugins: [
    vue(),
    budget(),
    compression({
      include: /\.(js|mjs|css|json|svg)$/,
      exclude: /sizes\.json$/,
      // A compressed copy of a tiny file saves nothing a TCP packet would notice.
      threshold: 512,
      algorithms: ['gzip', defineAlgorithm('brotliCompress', { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11 } })],
      logLevel: 'silent',
    }),
  ],
  // Compile-time flags of Vue and vue-i18n: Composition API only, no devtools in production
  // (smaller bundle, and no "feature flags are not defined" warnings in the console).
  define: {
    __VUE_OPTIONS_API__: 'false',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'false',
    __VUE_I18N_LEGACY_API__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
    __INTLIFY_DROP_MESSAGE_COMPILER__: 'false',
  },
  build: {
    outDir: here('./dist/web'),
    emptyOutDir: true,
    target: 'es2020',
    // Small pages: inline nothing as base64 beyond tiny icons.
    assetsInlineLimit: 2048,
    reportCompressedSize: false,
    rollupOptions: {
      input: {
        home: here('./web/home.html'),
        certificate: here('./web/certificate.html'),
        admin: here('./web/admin.html'),
        'dev-mail': here('./web/dev-mail.html'),
        accounts: here('./web/accounts.html'),
        assistant: here('./web/assistant.html'),
      },
    },
  },
  server: {
    // `npx vite` for page work: the API is the running service.
    proxy: { '/api': 'http://127.0.0.1:5000', '/verify': 'http://127.0.0.1:5000' },
  },
});
