import { ConfigError, environmentWithDotenv, loadConfig, type Config } from './config.ts';
import { DataDirInUse } from './platform/db/data-dir-lock.ts';
import { currentRequestId } from './platform/http/request-context.ts';
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
// The last line of defence, crash-only: an error that escaped every handler leaves the process in
// a state no one has thought about, so it is told in one line and the supervisor starts afresh.
for (const [event, what] of [
  ['uncaughtException', 'uncaught exception'],
  ['unhandledRejection', 'unhandled promise rejection'],
] as const) {
  process.on(event, (err: unknown) => {
    logger.fatal({ err, requestId: currentRequestId() }, `${what}: exiting`);
    process.exit(1);
  });
}

try {
  const running = await startServer(config, logger);
  exitOnSignals(running, logger);
  // Only now: whoever waits for this line may signal the server and have it drain, not die.
  logger.info(
    { address: running.address, metrics: running.metricsAddress, env: config.env, database: running.deps.db.kind },
    'server started',
  );
} catch (err) {
  // One line naming the directory and the process holding it: no stack to read past.
  if (err instanceof DataDirInUse) logger.fatal({ dataDir: err.dataDir, holder: err.holder }, err.message);
  else logger.fatal({ err }, 'start-up failed');
  process.exit(1);
}
