import { mkdirSync } from 'node:fs';
import type { PGlite, Transaction } from '@electric-sql/pglite';
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

/** Embedded PostgreSQL in `dataDir` (or in memory for `memory://`), behind the same interface as `pg`. */
export async function openPglite(dataDir: string, { fromTemplate = true }: OpenOptions = {}): Promise<Database> {
  // PGlite's module loads while the template cluster is copied.
  const [{ PGlite, types }] = await Promise.all([import('@electric-sql/pglite'), prepareDataDir(dataDir, fromTemplate)]);
  const pglite = await PGlite.create(dataDir, {
    parsers: {
      [types.DATE]: (value: string) => value,
      [types.INT8]: (value: string) => Number(value),
    },
  });
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
      await pglite.close();
    },
  };
}

async function prepareDataDir(dataDir: string, fromTemplate: boolean): Promise<void> {
  if (dataDir.startsWith('memory://')) return;
  if (fromTemplate) await copyTemplateCluster(dataDir);
  mkdirSync(dataDir, { recursive: true });
}
