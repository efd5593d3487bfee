import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { architecture } from './eslint.architecture.js';

export default tseslint.config(
  // public/vendor/: third-party modules copied as they are published.
  { ignores: ['dist/', 'node_modules/', 'data/', 'uploads/', 'tmp/', 'coverage/', 'public/vendor/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test() and describe() return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      // Fastify plugins and hooks, and implementations of promise-returning interfaces, are async
      // without awaiting anything; no-floating-promises and no-misused-promises catch the real bugs.
      '@typescript-eslint/require-await': 'off',
      // Rethrowing what a catch caught, as it was, is the point of those throws.
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowArray: true, allowNullish: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests and benchmarks read JSON answers, which are `any` by nature; they assert on them instead.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // Test fixtures hand out plain objects of functions, destructured where they are used.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  ...architecture,
  { files: ['scripts/**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  // Type-checked against the types generated from the live OpenAPI document by test/process/openapi-client.test.ts.
  {
    files: ['docs/**/*.ts'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { parserOptions: { project: false, program: null, projectService: false } },
  },
  {
    files: ['public/**/*.js', 'test/e2e/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { project: false, program: null, projectService: false },
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'fetch',
          'localStorage',
          'XMLHttpRequest',
          'FormData',
          'URL',
          'URLSearchParams',
          'setInterval',
          'clearInterval',
          'MutationObserver',
          'DataTransfer',
          'DragEvent',
          'File',
          'atob',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
);
