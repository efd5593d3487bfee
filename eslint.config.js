import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // public/vendor/: third-party modules copied as they are published.
  { ignores: ['dist/', 'node_modules/', 'data/', 'uploads/', 'tmp/', 'public/vendor/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['public/**/*.js', 'test/e2e/*.js'],
    languageOptions: {
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
