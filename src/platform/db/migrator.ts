import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.ts';
import type { Database, Queryable } from './database.ts';

/** `migrations/` at the package root. */
export const MIGRATIONS_DIR = join(PACKAGE_ROOT, 'migrations');

// Any fixed 64-bit key works; every instance of this service must use the same one.
const ADVISORY_LOCK_KEY = 7_261_830_145_002_731;

export interface Migration {
  version: number;
  name: string;
  up: string;
  down: string | undefined;
}

export interface MigrationState {
  /** 0 when no migration has been applied. */
  version: number;
  dirty: boolean;
}

export class DirtyDatabaseError extends Error {
  constructor(readonly version: number) {
    super(
      `database is dirty at version ${version}: a migration failed part-way. ` +
        `Check the schema, then run "npm run migrate -- force <version>" with the version it is really at.`,
    );
    this.name = 'DirtyDatabaseError';
  }
}

export class MigrationFailedError extends Error {
  constructor(migration: Migration, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`migration ${formatName(migration)} failed: ${reason}; database marked dirty at version ${migration.version}`, {
      cause,
    });
    this.name = 'MigrationFailedError';
  }
}

const FILE_PATTERN = /^(\d+)_(.+)\.(up|down)\.sql$/;

export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  // An empty file is a migration that does nothing (as `new NAME` creates them), not a missing one.
  const byVersion = new Map<number, { version: number; name: string; up?: string; down?: string }>();
  for (const file of readdirSync(dir).sort()) {
    const match = FILE_PATTERN.exec(file);
    if (!match) continue;
    const [, digits, name, direction] = match as unknown as [string, string, string, 'up' | 'down'];
    const version = Number(digits);
    const migration = byVersion.get(version) ?? { version, name };
    // Two branches that each added "the next" migration: one of them must be renumbered.
    if (migration.name !== name) throw new Error(`two migrations numbered ${digits}: ${migration.name} and ${name}`);
    migration[direction] = readFileSync(join(dir, file), 'utf8');
    byVersion.set(version, migration);
  }
  return [...byVersion.values()]
    .sort((a, b) => a.version - b.version)
    .map(({ up, ...migration }) => {
      if (up === undefined) throw new Error(`migration ${formatName(migration)} has no .up.sql file`);
      return { ...migration, up, down: migration.down };
    });
}

export function formatName(m: Pick<Migration, 'version' | 'name'>): string {
  return `${String(m.version).padStart(6, '0')}_${m.name}`;
}

/** Applies and reverts migrations, keeping golang-migrate's `schema_migrations(version, dirty)`. */
export class Migrator {
  constructor(
    private readonly db: Database,
    private readonly migrations: Migration[] = loadMigrations(),
  ) {}

  async state(): Promise<MigrationState> {
    return this.locked(() => this.readState(this.db));
  }

  /** Applies up to `limit` pending migrations (all by default); returns those applied. */
  async up(limit = Infinity): Promise<Migration[]> {
    return this.locked(async () => {
      const { version } = await this.cleanState();
      const pending = this.migrations.filter((m) => m.version > version).slice(0, limit);
      for (const migration of pending) {
        await this.apply(migration.up, migration, migration.version);
      }
      return pending;
    });
  }

  /** Reverts the last `count` applied migrations; returns those reverted. */
  async down(count = 1): Promise<Migration[]> {
    return this.locked(async () => {
      const { version } = await this.cleanState();
      if (version > 0 && !this.migrations.some((m) => m.version === version)) {
        throw new Error(`the database is at version ${version}, which has no migration file here: cannot revert it`);
      }
      const applied = this.migrations
        .filter((m) => m.version <= version)
        .reverse()
        .slice(0, count);
      for (const migration of applied) {
        if (migration.down === undefined) throw new Error(`migration ${formatName(migration)} has no .down.sql file`);
        const previous = this.migrations.filter((m) => m.version < migration.version).at(-1)?.version ?? 0;
        await this.apply(migration.down, migration, previous);
      }
      return applied;
    });
  }

  /** Sets the recorded version and clears the dirty flag, after a person has repaired the schema. */
  async force(version: number): Promise<void> {
    await this.locked(() => this.writeState(this.db, { version, dirty: false }));
  }

  private async apply(sql: string, migration: Migration, resultingVersion: number): Promise<void> {
    try {
      await this.db.transaction(async (tx) => {
        if (sql.trim()) await tx.exec(sql);
        await this.writeState(tx, { version: resultingVersion, dirty: false });
      });
    } catch (error) {
      await this.writeState(this.db, { version: migration.version, dirty: true });
      throw new MigrationFailedError(migration, error);
    }
  }

  private async cleanState(): Promise<MigrationState> {
    const state = await this.readState(this.db);
    if (state.dirty) throw new DirtyDatabaseError(state.version);
    return state;
  }

  private async readState(db: Queryable): Promise<MigrationState> {
    const { rows } = await db.query<{ version: number; dirty: boolean }>('SELECT version, dirty FROM schema_migrations LIMIT 1');
    return rows[0] ? { version: Number(rows[0].version), dirty: rows[0].dirty } : { version: 0, dirty: false };
  }

  private async writeState(db: Queryable, state: MigrationState): Promise<void> {
    await db.query('TRUNCATE schema_migrations');
    if (state.version > 0) {
      await db.query('INSERT INTO schema_migrations (version, dirty) VALUES ($1, $2)', [state.version, state.dirty]);
    }
  }

  /** Holds a session-level advisory lock so that instances starting together migrate once. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.withSession(async (session) => {
      await session.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_KEY]);
      try {
        await session.exec(
          'CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)',
        );
        return await fn();
      } finally {
        await session.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK_KEY]);
      }
    });
  }
}

/** Writes the next `NNNNNN_name.up.sql` / `.down.sql` pair; returns their paths. */
export function createMigrationFiles(name: string, dir: string = MIGRATIONS_DIR): string[] {
  const slug = name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!slug) throw new Error('a migration needs a name of letters or digits');
  const next = (loadMigrations(dir).at(-1)?.version ?? 0) + 1;
  const base = join(dir, formatName({ version: next, name: slug }));
  const paths = [`${base}.up.sql`, `${base}.down.sql`];
  for (const path of paths) writeFileSync(path, '', { flag: 'wx' });
  return paths;
}
