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
  // PGlite runs one operation at a time; the others queue behind it. Counted at the top level
  // only: what runs inside a transaction is the transaction's.
  let active = 0;
  const counted = <T>(operation: () => Promise<T>): Promise<T> => {
    active++;
    return operation().finally(() => active--);
  };
  const session = wrap(pglite);
  return {
    kind: 'pglite',
    query: <Row>(sql: string, params?: readonly unknown[]) => counted(() => session.query<Row>(sql, params)),
    exec: (sql) => counted(() => session.exec(sql)),
    transaction: (fn) => counted(() => pglite.transaction((tx) => fn(wrap(tx)))),
    // PGlite is a single session already.
    withSession: (fn) => fn(session),
    poolUse: () => ({ inUse: Math.min(active, 1), idle: active > 0 ? 0 : 1, waiting: Math.max(active - 1, 0) }),
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
