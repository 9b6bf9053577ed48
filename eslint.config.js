// ESLint (flat config). Server, tests and benches: typescript-eslint's type-aware recommended rules.
// Web pages: eslint-plugin-vue's recommended rules and typescript-eslint's recommended rules without
// type information (web/ is compiled by Vite and type-checked by vue-tsc with web/tsconfig.json). Formatting belongs to Prettier
// (.prettierrc.json): eslint-config-prettier comes last and turns off every stylistic rule.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import vue from 'eslint-plugin-vue';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

// heap-settings.ts sets V8's flag for the whole process when it is loaded: only the service's entry
// (src/main.ts) may load it, so loading a module (a CLI command, a test) never changes a process's flags.
const heapSettingsOnlyFromMain = {
  group: ['**/heap-settings.js', '**/heap-settings'],
  message: "only src/main.ts loads heap-settings.ts (loading it sets V8's flag for the process); use heap-mode.ts.",
};

export default tseslint.config(
  { ignores: ['dist/**', '.test-server/**', 'node_modules/**', 'coverage/**', 'web/**/generated/**', 'test/fixtures/**', 'bin/**'] },

  // Server, tests, benches, scripts: type-aware.
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', '*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `_name` marks a parameter a signature needs but the body does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // `async` marks a function that returns a promise by contract (an interface's method, a
      // Fastify handler): dropping it to please this rule would turn its throws into synchronous
      // throws, which callers do not expect.
      '@typescript-eslint/require-await': 'off',
    },
  },

  // Migrations are written against `Kysely<any>` on purpose: a migration must not depend on the
  // current `Database` type, which changes with later migrations (Kysely's own advice).
  {
    files: ['src/**/migrations.ts', 'src/platform/db/migrations/*.ts', 'src/platform/db/columns.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },

  // Tests and benches read responses with `res.json()` / `JSON.parse`, which are `any` by design,
  // and then assert on their shape: typing every response would restate the API in each test.
  // The no-unsafe-* family is off there; everything else (floating promises, misused promises...) stays.
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'src/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // `arr[0]!` is a harmless habit in tests (the rule flips if noUncheckedIndexedAccess is turned
      // on), and vitest's `expect(obj.method)` / saved `db.drop` methods are not calls.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
      // Test servers and bench workers take async callbacks (http.createServer, process.on('message')):
      // a rejection there surfaces as an unhandled rejection, which fails the run loudly.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },

  // Layering: the platform is shared infrastructure and never reaches up into a module or the
  // composition root; modules hand the platform what it needs (see CONTRIBUTING.md, "Layering").
  {
    files: ['src/platform/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/modules/**', '**/modules'],
              message: 'platform/ never imports modules/: have the module hand it in through its AppModule (see CONTRIBUTING.md).',
            },
            { group: ['**/app.js', '**/main.js'], message: 'platform/ never imports the composition root.' },
            heapSettingsOnlyFromMain,
          ],
        },
      ],
    },
  },

  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    ignores: ['src/main.ts', 'src/platform/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [heapSettingsOnlyFromMain] }] },
  },

  // Web pages (Vue single-file components and their TypeScript).
  {
    files: ['web/**/*.ts', 'web/**/*.vue'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended, ...vue.configs['flat/recommended']],
    languageOptions: {
      globals: globals.browser,
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'], sourceType: 'module' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Route views are named after their page (Rules.vue, Addresses.vue); they are never used as
      // tags in templates, where a one-word name could clash with an HTML element.
      'vue/multi-word-component-names': 'off',
    },
  },

  prettier,
);
