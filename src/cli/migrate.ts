/** `npm run migrate -- up [N] | down [N] | goto VERSION | status | force VERSION | new NAME`, `--yes` not to be asked */
import { createInterface } from 'node:readline/promises';
import { ConfigError, environmentWithDotenv, loadConfig } from '../config.ts';
import { openDatabase } from '../platform/db/open.ts';
import { createMigrationFiles, formatName, loadMigrations, Migrator, type Migration } from '../platform/db/migrator.ts';

const USAGE =
  'usage: npm run migrate -- up [N] | down [N] | goto VERSION | status | force VERSION | new NAME, with --yes not to be asked';

class UsageError extends Error {}

type DatabaseCommand = { name: 'up' | 'down'; steps: number } | { name: 'force' | 'goto'; version: number } | { name: 'status' };

function count(arg: string | undefined, fallback: number): number {
  if (arg === undefined) return fallback;
  if (!/^\d+$/.test(arg) || Number(arg) < 1) throw new UsageError(`N must be a positive integer, got "${arg}"`);
  return Number(arg);
}

/** Checked before the database is opened (or, embedded, created). */
function parse(command: string | undefined, arg: string | undefined): DatabaseCommand {
  switch (command) {
    case 'up':
      return { name: 'up', steps: count(arg, Infinity) };
    case 'down':
      return { name: 'down', steps: count(arg, 1) };
    case 'force':
    case 'goto':
      if (arg === undefined || !/^\d+$/.test(arg)) throw new UsageError(`${command} needs a VERSION (0 for none)`);
      return { name: command, version: Number(arg) };
    case 'status':
      return { name: 'status' };
    default:
      throw new UsageError(USAGE);
  }
}

/**
 * On a terminal, up and down ask first (as make's targets do); `--yes` answers for a deploy script.
 * Without a terminal there is no one to ask, and the command is what was meant.
 */
async function confirmed(action: DatabaseCommand, yes: boolean): Promise<boolean> {
  if (yes || action.name === 'status' || action.name === 'force' || !process.stdin.isTTY) return true;
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await prompt.question(`migrate ${action.name}: are you sure? [y/N] `)).trim() === 'y';
  } finally {
    prompt.close();
  }
}

async function run(command: string | undefined, arg: string | undefined, yes: boolean): Promise<void> {
  if (command === 'new') {
    if (!arg) throw new UsageError('new needs a NAME');
    for (const path of createMigrationFiles(arg)) console.log(`created ${path}`);
    return;
  }
  const action = parse(command, arg);
  if (!(await confirmed(action, yes))) {
    console.error('migrate: not confirmed; nothing changed');
    process.exitCode = 1;
    return;
  }
  const config = loadConfig(environmentWithDotenv());
  // A fresh embedded database starts empty here, not as the migrated install-time copy the server
  // starts from: "up 2" on it applies the first two migrations. A migration may take minutes.
  const db = await openDatabase(config, { fromTemplate: false, requestTimeouts: false });
  const migrations = loadMigrations();
  const migrator = new Migrator(db, migrations);
  try {
    if (action.name === 'goto') {
      // golang-migrate's goto: up or down, one migration at a time, until VERSION is the last applied.
      const { version } = await migrator.state();
      const between = (low: number, high: number) => migrations.filter((m) => m.version > low && m.version <= high).length;
      if (action.version < version) printReverted(await migrator.down(between(action.version, version)));
      else printApplied(await migrator.up(between(version, action.version)));
    } else if (action.name === 'up') {
      printApplied(await migrator.up(action.steps));
    } else if (action.name === 'down') {
      printReverted(await migrator.down(action.steps));
    } else if (action.name === 'force') {
      await migrator.force(action.version);
      console.log(`version forced to ${action.version}, dirty flag cleared`);
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

function printApplied(applied: Migration[]): void {
  console.log(applied.length ? applied.map((m) => `applied ${formatName(m)}`).join('\n') : 'no change: database is up to date');
}

function printReverted(reverted: Migration[]): void {
  console.log(reverted.length ? reverted.map((m) => `reverted ${formatName(m)}`).join('\n') : 'no change: nothing to revert');
}

const args = process.argv.slice(2);
const [command, arg] = args.filter((a) => a !== '--yes');
run(command, arg, args.includes('--yes')).catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `configuration error: ${error.message}` : `migrate: ${(error as Error).message}`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
