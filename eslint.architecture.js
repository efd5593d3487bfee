import boundaries from 'eslint-plugin-boundaries';

// The layers of src/ (README, "Layout"): platform/ holds mechanisms and knows no feature; a feature
// (auth/, creatives/, system/) imports only itself, platform/ and the configuration; the files at
// the top (app, container, server, main) and cli/ wire the features together.
const FEATURES = ['auth', 'creatives', 'system'];

const FOLDERS = [...FEATURES, 'cli'];

/**
 * Forbids files of `from` (a selector) importing the folders `folders` and the wiring files.
 * @param {Record<string, unknown>} from
 * @param {string[]} folders
 * @param {string} why
 */
const forbid = (from, folders, why) => [
  { from, disallow: { to: { element: { types: { anyOf: folders } } } }, message: why },
  { from, disallow: { to: { file: { categories: 'wiring' } } }, message: why },
];

/** The architecture rules of `npm run lint`; test/platform/lint-rules.test.ts lints fixtures against them. */
export const architecture = [
  {
    files: ['src/**/*.ts'],
    plugins: { boundaries },
    settings: {
      'boundaries/elements': [
        { type: 'platform', pattern: 'src/platform' },
        ...FEATURES.map((feature) => ({ type: feature, pattern: `src/${feature}` })),
        { type: 'cli', pattern: 'src/cli' },
      ],
      'boundaries/files': [
        { category: 'config', pattern: 'src/config.ts' },
        { category: 'wiring', pattern: 'src/{app,container,server,main}.ts' },
      ],
    },
    rules: {
      'boundaries/dependencies': [
        'error',
        {
          default: 'allow',
          policies: [
            ...forbid(
              { element: { type: 'platform' } },
              FOLDERS,
              'platform/ holds mechanisms only: it imports no feature and no wiring',
            ),
            ...forbid(
              { file: { categories: 'config' } },
              FOLDERS,
              'config.ts reads the environment only: it imports no feature and no wiring',
            ),
            ...FEATURES.flatMap((feature) =>
              forbid(
                { element: { type: feature } },
                FOLDERS.filter((other) => other !== feature),
                'a feature imports only itself, platform/ and config.ts: what it needs of another feature is handed to it by the container',
              ),
            ),
          ],
        },
      ],
      // The environment is read in one place, where every variable is typed and checked.
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'read configuration in src/config.ts (loadConfig), not from process.env' },
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: ['node:process', 'process'].map((name) => ({
            name,
            importNames: ['env'],
            message: 'read configuration in src/config.ts (loadConfig), not from process.env',
          })),
        },
      ],
    },
  },
  { files: ['src/config.ts'], rules: { 'no-restricted-properties': 'off', 'no-restricted-imports': 'off' } },
];
