// ESLint (flat config). Server, tests and benches: typescript-eslint's type-aware recommended rules.
// Web pages: eslint-plugin-vue's recommended rules and typescript-eslint's recommended rules without
// type information (web/ is compiled by Vite, outside tsconfig.json). Formatting belongs to Prettier
// (.prettierrc.json): eslint-config-prettier comes last and turns off every stylistic rule.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import vue from 'eslint-plugin-vue';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'web/**/generated/**', 'test/fixtures/**', 'bin/**'] },

  // Server, tests, benches: type-aware.
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', '*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `_name` marks a parameter a signature needs but the body does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
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
            { group: ['**/modules/**', '**/modules'], message: 'platform/ never imports modules/: have the module hand it in through its AppModule (see CONTRIBUTING.md).' },
            { group: ['**/app.js', '**/main.js'], message: 'platform/ never imports the composition root.' },
          ],
        },
      ],
    },
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
    },
  },

  prettier,
);
