import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { findLiveToken, hashToken } from '../../src/auth/tokens.ts';
import type { Database, Queryable } from '../../src/platform/db/database.ts';
import {
  createMigrationFiles,
  DirtyDatabaseError,
  formatName,
  loadMigrations,
  MigrationFailedError,
  MIGRATIONS_DIR,
  Migrator,
} from '../../src/platform/db/migrator.ts';
import { createDependencies } from '../../src/container.ts';
import { databaseBackends, tempDir, type TestDatabase } from '../support/backends.ts';
import { capturingLogger } from '../support/log-capture.ts';

const MIGRATIONS = loadMigrations();
const LATEST = MIGRATIONS.at(-1)!.version;
const ORIGINAL_TABLES = ['creatives', 'tokens', 'users'];

async function tables(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
  );
  return rows.map((row) => row.table_name);
}

async function schemaMigrations(db: Queryable): Promise<{ version: number; dirty: boolean }[]> {
  return (await db.query<{ version: number; dirty: boolean }>('SELECT version, dirty FROM schema_migrations')).rows;
}

/** A copy of `migrations/` the test may add files to. */
function migrationsCopy(): string {
  const dir = tempDir('cheershare-migrations-');
  for (const file of readdirSync(MIGRATIONS_DIR)) copyFileSync(join(MIGRATIONS_DIR, file), join(dir, file));
  return dir;
}

for (const backend of databaseBackends) {
  describe(`migrations on ${backend.name}`, () => {
    let database: TestDatabase;
    let db: Database;
    before(async () => {
      database = await backend.create();
      db = await database.open();
    });
    after(async () => {
      await db.close();
      await database.drop();
    });

    /** Back to an empty database between tests. */
    async function reset(): Promise<void> {
      await db.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
    }

    test('up, down, up again: every table and the recorded version follow', async () => {
      await reset();
      const migrator = new Migrator(db);
      assert.deepEqual(await migrator.state(), { version: 0, dirty: false });

      assert.deepEqual(
        (await migrator.up()).map((m) => m.version),
        MIGRATIONS.map((m) => m.version),
      );
      const migratedTables = await tables(db);
      for (const table of [...ORIGINAL_TABLES, 'schema_migrations']) assert.ok(migratedTables.includes(table), table);
      assert.deepEqual(await schemaMigrations(db), [{ version: LATEST, dirty: false }]);
      assert.deepEqual(await migrator.up(), [], 'nothing left to apply');

      assert.deepEqual(
        (await migrator.down(Infinity)).map((m) => m.version),
        MIGRATIONS.map((m) => m.version).reverse(),
      );
      assert.deepEqual(await tables(db), ['schema_migrations'], 'every down file removes what its up file made');
      assert.deepEqual(await schemaMigrations(db), []);

      await migrator.up();
      assert.deepEqual(await tables(db), migratedTables);
      assert.deepEqual(await schemaMigrations(db), [{ version: LATEST, dirty: false }]);
    });

    test('up N and down N move one step at a time', async () => {
      await reset();
      const migrator = new Migrator(db);
      assert.deepEqual(
        (await migrator.up(2)).map((m) => m.version),
        [1, 2],
      );
      assert.deepEqual(await tables(db), ['schema_migrations', 'tokens', 'users']);
      assert.deepEqual(
        (await migrator.down()).map((m) => m.version),
        [2],
      );
      assert.deepEqual(await schemaMigrations(db), [{ version: 1, dirty: false }]);
      assert.deepEqual(await tables(db), ['schema_migrations', 'users']);
    });

    test('a database made by the original (its three migrations, version 3) is carried forward', async () => {
      await reset();
      for (const m of MIGRATIONS.filter((migration) => migration.version <= 3)) {
        await db.exec(readFileSync(join(MIGRATIONS_DIR, `${formatName(m)}.up.sql`), 'utf8'));
      }
      await db.exec(`CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
        INSERT INTO schema_migrations (version, dirty) VALUES (3, false);`);
      // Rows as the original wrote them: 10 national digits, a server path, a token hash.
      const token = 'ORIGINALTOKENAAAAAAAAAAAAA';
      const { rows } = await db.query<{ id: number }>(
        `INSERT INTO users (name, phone_number, created_at) VALUES
           ('Asha', '9876543210', '2023-05-01T10:00:00Z'), ('Ravi', '9123456789', '2023-05-01T11:00:00Z'),
           ('Ravi again', '+919123456789', '2023-05-02T11:00:00Z')
         RETURNING id`,
      );
      const ashaId = rows[0]!.id;
      await db.query(
        "INSERT INTO tokens (hash, user_id, expiry, scope) VALUES ($1, $2, now() + interval '1 day', 'authentication')",
        [createHash('sha256').update(token).digest(), ashaId],
      );
      await db.query("INSERT INTO creatives (user_id, creative_url, scheduled_at) VALUES ($1, './uploads/x.png', '2023-05-02')", [
        ashaId,
      ]);

      const applied = await new Migrator(db).up();
      assert.deepEqual(
        applied.map((m) => m.version),
        MIGRATIONS.filter((m) => m.version > 3).map((m) => m.version),
      );
      assert.deepEqual(await schemaMigrations(db), [{ version: LATEST, dirty: false }]);

      const users = await db.query<{ name: string; phone_number: string; created_at: Date; version: number }>(
        'SELECT name, phone_number, created_at, version FROM users ORDER BY id',
      );
      assert.deepEqual(
        users.rows.map((u) => [u.name, u.phone_number]),
        [
          ['Asha', '+919876543210'],
          // Already present in E.164 form (the unique key): the national form is left as it was.
          ['Ravi', '9123456789'],
          ['Ravi again', '+919123456789'],
        ],
      );
      assert.equal(users.rows[0]!.created_at.toISOString(), '2023-05-01T10:00:00.000Z');
      assert.equal(users.rows[0]!.version, 1);

      const creatives = await db.query('SELECT creative_url, scheduled_at, content_type, size_bytes FROM creatives');
      assert.deepEqual(creatives.rows, [
        { creative_url: '/uploads/x.png', scheduled_at: '2023-05-02', content_type: null, size_bytes: null },
      ]);

      const live = await findLiveToken(db, hashToken(token));
      assert.equal(live?.user.phone_number, '+919876543210', "the original's token still signs Asha in");
    });

    test('a failing migration rolls back, leaves dirty = true, and nothing runs until it is resolved', async () => {
      await reset();
      const dir = migrationsCopy();
      try {
        const [upFile, downFile] = createMigrationFiles('add half-done table', dir) as [string, string];
        const broken = LATEST + 1;
        assert.equal(basename(upFile), `${formatName({ version: broken, name: 'add-half-done-table' })}.up.sql`);
        writeFileSync(upFile, 'CREATE TABLE half_done (id int);\nSELECT missing_column FROM users;\n');
        writeFileSync(downFile, 'DROP TABLE half_done;\n');

        await assert.rejects(
          new Migrator(db, loadMigrations(dir)).up(),
          (error: Error) =>
            error instanceof MigrationFailedError &&
            error.message.includes(formatName({ version: broken, name: 'add-half-done-table' })) &&
            /missing_column/.test(error.message) &&
            /dirty/.test(error.message),
        );
        assert.deepEqual(await schemaMigrations(db), [{ version: broken, dirty: true }]);
        assert.ok(!(await tables(db)).includes('half_done'), 'the migration ran in a transaction: nothing of it stays');

        const migrator = new Migrator(db, loadMigrations(dir));
        for (const attempt of [() => migrator.up(), () => migrator.down()]) {
          await assert.rejects(attempt(), (error: Error) => error instanceof DirtyDatabaseError && /force/.test(error.message));
        }
        // The server refuses to start on it too (an embedded database is one process's at a time).
        const config = loadConfig({ ENV: 'test', ...database.env });
        if (backend.name === 'pglite') await db.close();
        await assert.rejects(createDependencies(config, capturingLogger().logger), DirtyDatabaseError);
        if (backend.name === 'pglite') db = await database.open();

        // Resolved: the schema is really at the previous version; the file is fixed.
        await new Migrator(db, loadMigrations(dir)).force(LATEST);
        writeFileSync(upFile, 'CREATE TABLE half_done (id int);\n');
        const fixed = new Migrator(db, loadMigrations(dir));
        assert.deepEqual(
          (await fixed.up()).map((m) => m.version),
          [broken],
        );
        assert.ok((await tables(db)).includes('half_done'));
        assert.deepEqual(await schemaMigrations(db), [{ version: broken, dirty: false }]);
        await fixed.down();
        assert.ok(!(await tables(db)).includes('half_done'));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('down refuses a version it has no file for (a database migrated by a newer release)', async () => {
      await reset();
      await new Migrator(db).up();
      await new Migrator(db).force(LATEST + 5);
      await assert.rejects(new Migrator(db).down(), /version \d+, which has no migration file/);
      assert.deepEqual(await schemaMigrations(db), [{ version: LATEST + 5, dirty: false }]);
    });

    if (backend.name === 'postgres') {
      test('instances migrating the same empty database at once apply each migration exactly once', async () => {
        await reset();
        const pools = await Promise.all([1, 2, 3, 4].map(() => database.open()));
        try {
          const results = await Promise.all(pools.map((pool) => new Migrator(pool).up()));
          const applied = results.flat().map((m) => m.version);
          assert.deepEqual(
            applied,
            MIGRATIONS.map((m) => m.version),
            'one instance applied everything, the others found nothing to do',
          );
          assert.deepEqual(
            results.map((r) => r.length).sort((a, b) => a - b),
            [0, 0, 0, MIGRATIONS.length],
          );
          assert.deepEqual(await schemaMigrations(db), [{ version: LATEST, dirty: false }]);
        } finally {
          await Promise.all(pools.map((pool) => pool.close()));
        }
      });
    }
  });
}

describe('new NAME', () => {
  test('creates the next numbered, empty up/down pair, which applies as a no-op', async () => {
    const dir = tempDir('cheershare-migrations-');
    try {
      assert.deepEqual(
        createMigrationFiles('Create Widgets!', dir).map((path) => basename(path)),
        ['000001_create-widgets.up.sql', '000001_create-widgets.down.sql'],
      );
      assert.deepEqual(
        createMigrationFiles('add_widget_index', dir).map((path) => basename(path)),
        ['000002_add-widget-index.up.sql', '000002_add-widget-index.down.sql'],
      );
      assert.equal(readFileSync(join(dir, '000002_add-widget-index.up.sql'), 'utf8'), '');
      const migrations = loadMigrations(dir);
      assert.deepEqual(
        migrations.map((m) => [m.version, m.name, m.up, m.down]),
        [
          [1, 'create-widgets', '', ''],
          [2, 'add-widget-index', '', ''],
        ],
      );
      assert.throws(() => createMigrationFiles('!!!', dir), /name of letters or digits/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('two migrations with one number (two branches each adding "the next") are refused', () => {
    const dir = migrationsCopy();
    try {
      const next = formatName({ version: LATEST + 1, name: '' });
      writeFileSync(join(dir, `${next}add-a.up.sql`), '');
      writeFileSync(join(dir, `${next}add-b.up.sql`), '');
      assert.throws(() => loadMigrations(dir), new RegExp(`two migrations numbered 0*${LATEST + 1}: add-a and add-b`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
