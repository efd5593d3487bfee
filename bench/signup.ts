import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createMigratedDatabase } from './support/postgres.ts';
import { productionEnv, startServer, type ServerCommand } from './support/server.ts';
import { wrk, type LoadResult } from './support/wrk.ts';

export interface SignupResult extends LoadResult {
  database: 'postgres' | 'pglite';
  serverErrorLogLines: number;
}

/**
 * POST /signup, request phase, with the default limits: every request has its own phone number
 * and, through X-Forwarded-For behind a trusted proxy, its own client address.
 */
export async function benchSignup(options: {
  database: 'postgres' | 'pglite';
  connections: number;
  seconds: number;
  workDir: string;
  command: ServerCommand;
}): Promise<SignupResult> {
  const { connections, seconds, workDir, command } = options;
  const postgres = options.database === 'postgres' ? await createMigratedDatabase() : undefined;
  try {
    const server = await startServer(
      command,
      {
        ...productionEnv(),
        UPLOAD_DIR: join(workDir, 'uploads'),
        TRUST_PROXY: '1',
        ...(postgres ? { DATABASE_URL: postgres.url } : { DATA_DIR: join(workDir, `pglite-${randomBytes(4).toString('hex')}`) }),
      },
      workDir,
    );
    try {
      const result = await wrk(server.url, 'signup.lua', { connections, seconds });
      return { database: options.database, ...result, serverErrorLogLines: server.logLines(50).length };
    } finally {
      await server.stop();
    }
  } finally {
    await postgres?.drop();
  }
}
