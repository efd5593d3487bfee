import { join } from 'node:path';
import type { PostgresDatabase } from '../../test/support/postgres.ts';
import { createMigratedDatabase, seed } from './postgres.ts';
import { productionEnv, startServer, type BenchServer, type ServerCommand } from './server.ts';

export interface FeedServer {
  database: PostgresDatabase;
  /** The seeded users' tokens, one a line, for bench/wrk/scheduled.lua (TOKENS_FILE). */
  tokensFile: string;
  /** The seed's summary line. */
  seeded: string;
  server: BenchServer;
  /** Stops the server and drops the database. */
  close(): Promise<void>;
}

/** The feed benchmarks' setup: a fresh migrated database with the shared seed, our server in production on it. */
export async function startFeedServer(options: {
  command: ServerCommand;
  workDir: string;
  serverEnv?: Record<string, string>;
}): Promise<FeedServer> {
  const { command, workDir } = options;
  const database = await createMigratedDatabase();
  try {
    const tokensFile = join(workDir, 'tokens.txt');
    const seeded = (await seed(database.url, tokensFile)).split('\n')[0]!;
    const env = { ...productionEnv(), DATABASE_URL: database.url, UPLOAD_DIR: join(workDir, 'uploads'), ...options.serverEnv };
    const server = await startServer(command, env, workDir);
    const close = async () => {
      try {
        await server.stop();
      } finally {
        await database.drop();
      }
    };
    return { database, tokensFile, seeded, server, close };
  } catch (error) {
    await database.drop();
    throw error;
  }
}
