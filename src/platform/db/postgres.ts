import pg from 'pg';
import { DependencyUnavailable } from '../dependency-unavailable.ts';
import type { Database, Queryable, QueryResult } from './database.ts';
import { isPostgresUnavailable } from './postgres-errors.ts';

// DATE stays a 'YYYY-MM-DD' string (pg would make a local-midnight Date); BIGINT ids fit in a number.
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/**
 * With request timeouts a query fails within 3.5 s whatever PostgreSQL does (the SPEC allows a
 * request 5 s): connecting (or waiting for a pooled connection) gives up after 2.5 s, a statement
 * is cancelled by the server after 3 s, and an answer that never comes (a hung server, a lost
 * network) is given up after 3.5 s.
 */
const CONNECTION_TIMEOUT_MS = 2_500;
const STATEMENT_TIMEOUT_MS = 3_000;
const QUERY_TIMEOUT_MS = 3_500;

/** PostgreSQL out of reach becomes DependencyUnavailable (503); a failed statement stays as it is. */
function unavailableOr(error: unknown): unknown {
  return isPostgresUnavailable(error) ? new DependencyUnavailable('database', { cause: error }) : error;
}

async function guarded<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    throw unavailableOr(error);
  }
}

function wrap(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
      const result = await guarded(client.query(sql, params as unknown[]));
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      await guarded(client.query(sql));
    },
  };
}

export interface PostgresOptions {
  maxConnections?: number;
  /** Whether to bound each query as above (the default); off for migrations, which may take minutes. */
  requestTimeouts?: boolean;
}

export function openPostgres(
  connectionString: string,
  { maxConnections = 10, requestTimeouts = true }: PostgresOptions = {},
): Database {
  const pool = new pg.Pool({
    connectionString,
    max: maxConnections,
    connectionTimeoutMillis: CONNECTION_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    ...(requestTimeouts && { statement_timeout: STATEMENT_TIMEOUT_MS, query_timeout: QUERY_TIMEOUT_MS }),
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});

  const withSession = async <T>(fn: (session: Queryable) => Promise<T>): Promise<T> => {
    const client = await guarded(pool.connect());
    let broken: unknown;
    try {
      return await fn(wrap(client));
    } catch (error) {
      // A connection that failed (or whose statement may still be running after a query timeout)
      // is closed, not returned to the pool for the next request to trip over.
      if (error instanceof DependencyUnavailable) broken = error;
      throw error;
    } finally {
      client.release(broken as Error | undefined);
    }
  };

  return {
    kind: 'postgres',
    ...wrap(pool),
    withSession,
    transaction: (fn) =>
      withSession(async (session) => {
        await session.exec('BEGIN');
        try {
          const result = await fn(session);
          await session.exec('COMMIT');
          return result;
        } catch (error) {
          await session.exec('ROLLBACK').catch(() => {});
          throw error;
        }
      }),
    async ping() {
      await guarded(pool.query('SELECT 1'));
    },
    async close() {
      await pool.end();
    },
  };
}
