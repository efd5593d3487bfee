import { ConfigError, environmentWithDotenv, loadConfig, type Config } from './config.ts';
import { createLogger } from './logger.ts';
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
} catch (err) {
  logger.fatal({ err }, 'start-up failed');
  process.exit(1);
}
