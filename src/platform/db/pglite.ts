import { mkdirSync } from 'node:fs';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import { lockDataDir } from './data-dir-lock.ts';
import type { Database, Queryable, QueryResult } from './database.ts';
import { copyTemplateCluster } from './pglite-template.ts';

function wrap(target: PGlite | Transaction): Queryable {
  return {
    async query<Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
      const result = await target.query<Row>(sql, params as unknown[]);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await target.exec(sql);
    },
  };
}

export interface OpenOptions {
  /**
   * Whether a fresh `dataDir` starts as a copy of the cluster made at install time, already at the
   * latest migration (the default), rather than empty, with initdb.
   */
  fromTemplate?: boolean;
}

/**
 * Embedded PostgreSQL in `dataDir` (or in memory for `memory://`), behind the same interface as
 * `pg`. The directory is this process's until `close()`: another process opening it fails with
 * DataDirInUse.
 */
export async function openPglite(dataDir: string, { fromTemplate = true }: OpenOptions = {}): Promise<Database> {
  const inMemory = dataDir.startsWith('memory://');
  const unlock = inMemory ? () => {} : await lockDataDir(dataDir);
  let pglite: PGlite;
  try {
    // PGlite's module loads while the template cluster is copied.
    const [{ PGlite, types }] = await Promise.all([
      import('@electric-sql/pglite'),
      inMemory ? undefined : prepareDataDir(dataDir, fromTemplate),
    ]);
    pglite = await PGlite.create(dataDir, {
      parsers: {
        [types.DATE]: (value: string) => value,
        [types.INT8]: (value: string) => Number(value),
      },
    });
  } catch (error) {
    unlock();
    throw error;
  }
  return {
    kind: 'pglite',
    ...wrap(pglite),
    transaction: (fn) => pglite.transaction((tx) => fn(wrap(tx))),
    // PGlite is a single session already.
    withSession: (fn) => fn(wrap(pglite)),
    async ping() {
      await pglite.query('SELECT 1');
    },
    async close() {
      try {
        await pglite.close();
      } finally {
        unlock();
      }
    },
  };
}

async function prepareDataDir(dataDir: string, fromTemplate: boolean): Promise<void> {
  if (fromTemplate) await copyTemplateCluster(dataDir);
  mkdirSync(dataDir, { recursive: true });
}
