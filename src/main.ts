import { ConfigError, environmentWithDotenv, loadConfig, type Config } from './config.ts';
import { DataDirInUse } from './platform/db/data-dir-lock.ts';
import { createLogger } from './platform/logger.ts';
import { exitOnSignals, startServer } from './server.ts';

let config: Config;
try {
  config = loadConfig(environmentWithDotenv());
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`configuration error: ${error.message}`);
  process.exit(1);
}

const logger = createLogger(config);
process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection'));

try {
  const running = await startServer(config, logger);
  exitOnSignals(running, logger);
  // Only now: whoever waits for this line may signal the server and have it drain, not die.
  logger.info({ address: running.address, env: config.env, database: running.deps.db.kind }, 'server started');
} catch (err) {
  // One line naming the directory and the process holding it: no stack to read past.
  if (err instanceof DataDirInUse) logger.fatal({ dataDir: err.dataDir, holder: err.holder }, err.message);
  else logger.fatal({ err }, 'start-up failed');
  process.exit(1);
}
