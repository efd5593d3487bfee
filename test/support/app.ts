import { rmSync } from 'node:fs';
import pino from 'pino';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig, type Config, type Env } from '../../src/config.ts';
import { createDependencies, type Dependencies } from '../../src/dependencies.ts';
import { tempDir, type DatabaseBackend, type TestDatabase } from './backends.ts';

export interface TestApp {
  app: App;
  deps: Dependencies;
  config: Config;
  database: TestDatabase;
  uploadDir: string;
  /** Closes the app and its dependencies and removes the database and upload directory. */
  close(): Promise<void>;
}

/** Builds the real app (migrated, on a fresh database of `backend`) for `app.inject()` tests. */
export async function buildTestApp(backend: DatabaseBackend, env: Env = {}): Promise<TestApp> {
  const database = await backend.create();
  const uploadDir = tempDir('cheershare-uploads-');
  const config = loadConfig({ ENV: 'test', LOG_LEVEL: 'silent', UPLOAD_DIR: uploadDir, ...database.env, ...env });
  const deps = await createDependencies(config, pino({ level: config.logLevel }));
  const app = await buildApp(deps);
  await app.ready();
  return {
    app,
    deps,
    config,
    database,
    uploadDir,
    async close() {
      await app.close();
      await deps.background.drain();
      await deps.close();
      await database.drop();
      rmSync(uploadDir, { recursive: true, force: true });
    },
  };
}
