import type { Config } from '../../config.ts';
import type { Database } from './database.ts';
import { Migrator, type Migration } from './migrator.ts';
import type { OpenOptions } from './pglite.ts';
import type { PostgresOptions } from './postgres.ts';

type DatabaseConfig = Pick<Config, 'databaseUrl' | 'dataDir'>;

/** Only the driver in use is loaded, which keeps it out of the other's start-up time. */
export async function openDatabase(config: DatabaseConfig, options: OpenOptions & PostgresOptions = {}): Promise<Database> {
  if (config.databaseUrl) return (await import('./postgres.ts')).openPostgres(config.databaseUrl, options);
  return (await import('./pglite.ts')).openPglite(config.dataDir, options);
}

/**
 * Applies pending migrations to `db`. On PostgreSQL they run on connections of their own, without
 * the request timeouts: a migration (or the wait for another instance's) may take minutes.
 */
export async function migrateToLatest(config: DatabaseConfig, db: Database): Promise<Migration[]> {
  if (db.kind !== 'postgres') return new Migrator(db).up();
  const unbounded = await openDatabase(config, { requestTimeouts: false, maxConnections: 2 });
  try {
    return await new Migrator(unbounded).up();
  } finally {
    await unbounded.close();
  }
}
