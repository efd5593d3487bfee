/** `npm run migrate -- up [N] | down [N] | status | force VERSION | new NAME` */
import { ConfigError, environmentWithDotenv, loadConfig } from './config.ts';
import { openDatabase } from './db/open.ts';
import { createMigrationFiles, formatName, loadMigrations, Migrator } from './db/migrate.ts';

const USAGE = 'usage: npm run migrate -- up [N] | down [N] | status | force VERSION | new NAME';

function count(arg: string | undefined, fallback: number): number {
  if (arg === undefined) return fallback;
  if (!/^\d+$/.test(arg) || Number(arg) < 1) throw new UsageError(`N must be a positive integer, got "${arg}"`);
  return Number(arg);
}

class UsageError extends Error {}

async function run(command: string | undefined, arg: string | undefined): Promise<void> {
  if (command === 'new') {
    if (!arg) throw new UsageError('new needs a NAME');
    for (const path of createMigrationFiles(arg)) console.log(`created ${path}`);
    return;
  }
  if (!['up', 'down', 'status', 'force'].includes(command ?? '')) throw new UsageError(USAGE);

  const config = loadConfig(environmentWithDotenv());
  const db = await openDatabase(config);
  const migrations = loadMigrations();
  const migrator = new Migrator(db, migrations);
  try {
    if (command === 'up') {
      const applied = await migrator.up(count(arg, Infinity));
      console.log(
        applied.length ? applied.map((m) => `applied ${formatName(m)}`).join('\n') : 'no change: database is up to date',
      );
    } else if (command === 'down') {
      const reverted = await migrator.down(count(arg, 1));
      console.log(reverted.length ? reverted.map((m) => `reverted ${formatName(m)}`).join('\n') : 'no change: nothing to revert');
    } else if (command === 'force') {
      if (arg === undefined || !/^\d+$/.test(arg)) throw new UsageError('force needs a VERSION (0 for none)');
      await migrator.force(Number(arg));
      console.log(`version forced to ${Number(arg)}, dirty flag cleared`);
    } else {
      const state = await migrator.state();
      console.log(
        `version ${state.version}${state.dirty ? ' (dirty)' : ''} on ${db.kind === 'pglite' ? `embedded database in ${config.dataDir}` : 'PostgreSQL'}`,
      );
      for (const m of migrations) console.log(`${m.version <= state.version ? 'applied' : 'pending'}  ${formatName(m)}`);
    }
  } finally {
    await db.close();
  }
}

const [command, arg] = process.argv.slice(2);
run(command, arg).catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `configuration error: ${error.message}` : `migrate: ${(error as Error).message}`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
