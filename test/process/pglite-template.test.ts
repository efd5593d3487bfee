import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { loadMigrations, MIGRATIONS_DIR, Migrator } from '../../src/platform/db/migrator.ts';
import { openPglite } from '../../src/platform/db/pglite.ts';
import { makeTemplateCluster } from '../../src/cli/make-pglite-template.ts';
import { copyTemplateCluster, templateDirectory } from '../../src/platform/db/pglite-template.ts';
import { createDependencies } from '../../src/container.ts';
import { tempDir } from '../support/backends.ts';
import { capturingLogger } from '../support/log-capture.ts';

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

describe('the install-time template cluster', () => {
  const LATEST = loadMigrations().at(-1)!.version;
  let root: string;
  before(() => {
    root = tempDir('cheershare-template-');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** A copy of migrations/ holding only the files `keep` accepts. */
  function migrationsCopy(name: string, keep: (file: string) => boolean = () => true): string {
    const dir = join(root, name);
    mkdirSync(dir);
    for (const file of readdirSync(MIGRATIONS_DIR).filter(keep)) copyFileSync(join(MIGRATIONS_DIR, file), join(dir, file));
    return dir;
  }

  test('is migrated: a fresh DATA_DIR copied from it is at the latest migration, and the app serves on it', async () => {
    const template = join(root, 'migrated');
    assert.equal(await makeTemplateCluster(template), template);
    assert.equal(await makeTemplateCluster(template), undefined, 'made once');
    assert.deepEqual(readdirSync(root), ['migrated'], 'nothing is left beside it');

    const dataDir = join(root, 'data');
    assert.equal(await copyTemplateCluster(dataDir, template), true);
    const uploadDir = join(root, 'uploads');
    const config = loadConfig({ ENV: 'test', LOG_LEVEL: 'info', DATA_DIR: dataDir, UPLOAD_DIR: uploadDir });
    const log = capturingLogger();
    const deps = await createDependencies(config, log.logger);
    try {
      assert.deepEqual(await new Migrator(deps.db).state(), { version: LATEST, dirty: false });
      assert.deepEqual(
        log.lines.filter((line) => line.msg === 'migration applied'),
        [],
      );
      const app = await buildApp(deps);
      assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
      const signup = await app.inject({ method: 'POST', url: '/signup', payload: { name: 'Asha', phone_number: '9876543210' } });
      assert.equal(signup.statusCode, 200, signup.body);
      await app.close();
      await deps.background.drain();
    } finally {
      await deps.close();
    }
  });

  test('is keyed by the migration files: a changed, added or removed one names another template', () => {
    const same = migrationsCopy('same');
    assert.equal(templateDirectory(same), templateDirectory(MIGRATIONS_DIR));
    const changed = migrationsCopy('changed');
    appendFileSync(
      join(
        changed,
        readdirSync(changed).find((file) => file.endsWith('.up.sql'))!,
      ),
      '\n-- changed\n',
    );
    const added = migrationsCopy('added');
    writeFileSync(join(added, '999999_later.up.sql'), 'SELECT 1;');
    const removed = migrationsCopy('removed', (file) => !file.startsWith(String(LATEST).padStart(6, '0')));
    const names = [MIGRATIONS_DIR, changed, added, removed].map((dir) => templateDirectory(dir));
    assert.equal(new Set(names).size, names.length, names.join('\n'));
  });

  test('a copy of a template made from fewer migrations is brought up to date by the migrator', async () => {
    const firstThree = migrationsCopy('first-three', (file) => Number(file.slice(0, 6)) <= 3);
    const template = join(root, 'older');
    await makeTemplateCluster(template, firstThree);
    const dataDir = join(root, 'older-data');
    assert.equal(await copyTemplateCluster(dataDir, template), true);
    const db = await openPglite(dataDir);
    try {
      const migrator = new Migrator(db);
      assert.deepEqual(await migrator.state(), { version: 3, dirty: false });
      assert.deepEqual(
        (await migrator.up()).map((m) => m.version),
        loadMigrations()
          .filter((m) => m.version > 3)
          .map((m) => m.version),
      );
      assert.deepEqual(await migrator.state(), { version: LATEST, dirty: false });
    } finally {
      await db.close();
    }
  });
});
