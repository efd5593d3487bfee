import type { FastifyBaseLogger } from 'fastify';
import type { AppDependencies } from './app.ts';
import { BackgroundTasks } from './background.ts';
import type { Config } from './config.ts';
import { formatName, Migrator } from './db/migrate.ts';
import { openDatabase } from './db/open.ts';
import { LocalDiskStorage } from './storage/local-disk.ts';

export interface Dependencies extends AppDependencies {
  /** Closes what was opened (database, Redis), after requests and background tasks have finished. */
  close(): Promise<void>;
}

/** Opens the database, applies pending migrations, and assembles everything the app needs. */
export async function createDependencies(config: Config, logger: FastifyBaseLogger): Promise<Dependencies> {
  const { storage, swept } = await LocalDiskStorage.open(config.uploadDir);
  if (swept > 0) logger.info({ files: swept, directory: storage.directory }, 'removed temporary files of interrupted uploads');
  const db = await openDatabase(config);
  try {
    const applied = await new Migrator(db).up();
    for (const m of applied) logger.info({ migration: formatName(m) }, 'migration applied');
  } catch (error) {
    await db.close();
    throw error;
  }
  return {
    config,
    db,
    logger,
    background: new BackgroundTasks(logger),
    lifecycle: { shuttingDown: false },
    readinessChecks: [{ name: 'database', check: () => db.ping() }],
    storage,
    close: () => db.close(),
  };
}
