import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { copyTemplateCluster } from '../src/db/pglite-template.ts';
import { tempDir } from './support/backends.ts';

describe('a fresh DATA_DIR from the template cluster', () => {
  let root: string;
  let template: string;
  before(async () => {
    root = tempDir('cheershare-template-');
    template = join(root, 'template');
    // A marker table tells a copy of this template from a cluster initdb made.
    const pglite = await PGlite.create(template);
    await pglite.exec('CREATE TABLE made_from_template (id int)');
    await pglite.close();
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  async function tables(dataDir: string): Promise<string[]> {
    const pglite = await PGlite.create(dataDir);
    try {
      const { rows } = await pglite.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
      return rows.map((row) => row.tablename);
    } finally {
      await pglite.close();
    }
  }

  test('a missing or empty directory becomes a working copy of the template, and nothing is left beside it', async () => {
    const missing = join(root, 'missing');
    const empty = join(root, 'empty');
    mkdirSync(empty);
    for (const dataDir of [missing, empty]) {
      assert.equal(await copyTemplateCluster(dataDir, template), true);
      assert.deepEqual(await tables(dataDir), ['made_from_template']);
    }
    assert.deepEqual(readdirSync(root).sort(), ['empty', 'missing', 'template']);
  });

  test('a directory with anything in it is left alone', async () => {
    const used = join(root, 'used');
    mkdirSync(used);
    writeFileSync(join(used, 'keep.txt'), 'mine');
    assert.equal(await copyTemplateCluster(used, template), false);
    assert.deepEqual(readdirSync(used), ['keep.txt']);
  });

  test('without a template nothing is copied', async () => {
    const dataDir = join(root, 'no-template');
    assert.equal(await copyTemplateCluster(dataDir, join(root, 'absent')), false);
    assert.equal(existsSync(dataDir), false);
  });
});
