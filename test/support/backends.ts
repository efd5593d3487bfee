import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '../../src/platform/db/database.ts';
import { openDatabase } from '../../src/platform/db/open.ts';
import { createPostgresDatabase } from './postgres.ts';

/**
 * The database backends every database test runs on: embedded PGlite always, and PostgreSQL when
 * TEST_DATABASE_URL is set. Under CI=true a missing TEST_DATABASE_URL is an error, not a skip;
 * under TEST_FAST=1 (`npm run test:fast`) only the embedded database runs.
 */
export interface DatabaseBackend {
  name: 'pglite' | 'postgres';
  /**
   * A fresh database of this kind: empty on PostgreSQL; embedded, a copy of the install-time
   * cluster, already at the latest migration (empty only where that cluster is missing).
   */
  create(): Promise<TestDatabase>;
}

export interface TestDatabase {
  /** The environment variables that point the app at this database. */
  env: { DATABASE_URL?: string; DATA_DIR?: string };
  open(): Promise<Database>;
  drop(): Promise<void>;
}

const ci = process.env.CI === 'true';
/** `npm run test:fast`: the embedded database and in-memory stores only, even where the others are set. */
const fast = process.env.TEST_FAST === '1';

function requiredInCi(variable: string): string | undefined {
  if (fast) return undefined;
  const value = process.env[variable];
  if (!value && ci) throw new Error(`${variable} must be set when CI=true: a skipped suite is a failure there`);
  return value || undefined;
}

export const TEST_DATABASE_URL = requiredInCi('TEST_DATABASE_URL');
export const TEST_REDIS_URL = requiredInCi('TEST_REDIS_URL');

export function tempDir(prefix = 'cheershare-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

const pgliteBackend: DatabaseBackend = {
  name: 'pglite',
  async create() {
    const dataDir = tempDir('cheershare-pglite-');
    return {
      env: { DATA_DIR: dataDir },
      open: () => openDatabase({ databaseUrl: undefined, dataDir }),
      drop: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  },
};

function postgresBackend(adminUrl: string): DatabaseBackend {
  return {
    name: 'postgres',
    async create() {
      const { url: databaseUrl, drop } = await createPostgresDatabase(adminUrl, 'cheershare_test_');
      return { env: { DATABASE_URL: databaseUrl }, open: () => openDatabase({ databaseUrl, dataDir: '' }), drop };
    },
  };
}

export const databaseBackends: DatabaseBackend[] = [
  pgliteBackend,
  ...(TEST_DATABASE_URL ? [postgresBackend(TEST_DATABASE_URL)] : []),
];
