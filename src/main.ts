import type { Config } from './config.ts';
import { keepYoungGenerationSmall } from './memory.ts';

// Before anything else loads: loading modules is what grows the young generation.
keepYoungGenerationSmall();
const { ConfigError, environmentWithDotenv, loadConfig } = await import('./config.ts');

let config: Config;
try {
  config = loadConfig(environmentWithDotenv());
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`configuration error: ${error.message}`);
  process.exit(1);
}

// The database opens while the HTTP stack loads: the copy of the install-time cluster runs in a cp
// process, and PGlite loads and boots in the gaps module loading leaves on the main thread (under
// npm start it waits on tsx's loader thread). startServer waits for it; until then a failure is
// not reported as an unhandled rejection.
const opening = (await import('./db/open.ts')).openDatabase(config);
opening.catch(() => {});

// Loaded once the configuration is known to be good, so a bad variable is reported without first
// loading the HTTP stack.
const { createLogger } = await import('./logger.ts');
const { exitOnSignals, startServer } = await import('./server.ts');

const logger = createLogger(config);
process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection'));

try {
  const running = await startServer(config, logger, opening);
  exitOnSignals(running, logger);
  // Only now: whoever waits for this line may signal the server and have it drain, not die.
  logger.info({ address: running.address, env: config.env, database: running.deps.db.kind }, 'server started');
} catch (err) {
  logger.fatal({ err }, 'start-up failed');
  process.exit(1);
}
