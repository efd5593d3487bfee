import type { Config } from '../../config.ts';
import type { Database } from './database.ts';
import type { OpenOptions } from './pglite.ts';

/** Only the driver in use is loaded, which keeps it out of the other's start-up time. */
export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir'>, options?: OpenOptions): Promise<Database> {
  if (config.databaseUrl) return (await import('./postgres.ts')).openPostgres(config.databaseUrl);
  return (await import('./pglite.ts')).openPglite(config.dataDir, options);
}
