import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { ROOT } from './support/server-process.ts';

// The rules `npm run lint` applies to src/, on small fixtures that break them. The fixtures are
// linted as if they were files in src/ (their imports resolve against the real tree), with the
// architecture rules alone: the type-checked rules need the files in the TypeScript project.
const { architecture } = (await import(pathToFileURL(join(ROOT, 'eslint.architecture.js')).href)) as {
  architecture: Linter.Config[];
};
const linter = new ESLint({
  cwd: ROOT,
  overrideConfigFile: true,
  overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...architecture],
});

/** The rule ids of the problems ESLint reports for `code` as the file `path` (relative to the root). */
async function problems(path: string, code: string): Promise<string[]> {
  const [result] = await linter.lintText(code, { filePath: join(ROOT, path) });
  return result!.messages.map((message) => message.ruleId ?? message.message);
}

describe('import boundaries', () => {
  test('a feature importing another feature fails lint', async () => {
    assert.deepEqual(
      await problems(
        'src/auth/fixture.ts',
        "import { CreativesService } from '../creatives/service.ts';\nexport type S = CreativesService;\n",
      ),
      ['boundaries/dependencies'],
    );
    assert.deepEqual(
      await problems(
        'src/creatives/storage/fixture.ts',
        "import { Sessions } from '../../auth/sessions.ts';\nexport type S = Sessions;\n",
      ),
      ['boundaries/dependencies'],
    );
  });

  test('a feature importing the wiring (app, container) fails lint', async () => {
    assert.deepEqual(
      await problems(
        'src/system/fixture.ts',
        "import type { Dependencies } from '../container.ts';\nexport type D = Dependencies;\n",
      ),
      ['boundaries/dependencies'],
    );
  });

  test('platform/ importing a feature or the wiring fails lint', async () => {
    assert.deepEqual(
      await problems(
        'src/platform/http/fixture.ts',
        "import { Sessions } from '../../auth/sessions.ts';\nexport type S = Sessions;\n",
      ),
      ['boundaries/dependencies'],
    );
    assert.deepEqual(
      await problems('src/platform/fixture.ts', "import { buildApp } from '../app.ts';\nexport const b = buildApp;\n"),
      ['boundaries/dependencies'],
    );
  });

  test('a feature importing itself, platform/ and config.ts passes', async () => {
    const code = [
      "import type { Config } from '../config.ts';",
      "import type { Database } from '../platform/db/database.ts';",
      "import { findOrCreateUser } from './users.ts';",
      'export type Both = [Config, Database, typeof findOrCreateUser];',
      '',
    ].join('\n');
    assert.deepEqual(await problems('src/auth/fixture.ts', code), []);
  });
});

describe('process.env only in src/config.ts', () => {
  test('reading process.env anywhere else in src/ fails lint, however it is spelled', async () => {
    assert.deepEqual(await problems('src/creatives/fixture.ts', 'export const port = process.env.PORT;\n'), [
      'no-restricted-properties',
    ]);
    assert.deepEqual(await problems('src/platform/fixture.ts', 'const { env } = process;\nexport const port = env.PORT;\n'), [
      'no-restricted-properties',
    ]);
    assert.deepEqual(
      await problems('src/main-fixture.ts', "import { env } from 'node:process';\nexport const port = env.PORT;\n"),
      ['no-restricted-imports'],
    );
  });

  test('src/config.ts may read it', async () => {
    assert.deepEqual(await problems('src/config.ts', 'export const port = process.env.PORT;\n'), []);
  });
});

test('npm run lint applies both rules to src/ (eslint.config.js includes them)', async () => {
  const config = (await new ESLint({ cwd: ROOT }).calculateConfigForFile(join(ROOT, 'src/auth/sessions.ts'))) as Linter.Config;
  const severity = (rule: string) => JSON.stringify(config.rules?.[rule]).slice(0, 3);
  assert.deepEqual(['boundaries/dependencies', 'no-restricted-properties', 'no-restricted-imports'].map(severity), [
    '[2,',
    '[2,',
    '[2,',
  ]);
});
