import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { buildApp, type App } from './app.ts';
import { startMetricsServer, type MetricsServer } from './platform/metrics-server.ts';
import { startPeriodicCleanup } from './platform/periodic.ts';
import type { Config } from './config.ts';
import { createDependencies, type Dependencies } from './container.ts';
import { HEADER_LIMITS } from './platform/http/body-timeouts.ts';

export interface RunningServer {
  app: App;
  deps: Dependencies;
  address: string;
  /** Where /metrics is served; undefined when METRICS_PORT is unset. */
  metricsAddress: string | undefined;
  /** Drains and closes everything within SHUTDOWN_TIMEOUT_SECONDS; resolves with the exit code. */
  shutdown(signal: string): Promise<number>;
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const deps = await createDependencies(config, logger);
  let built: App | undefined;
  let address: string;
  let metricsServer: MetricsServer | undefined;
  try {
    built = await buildApp(deps);
    await built.ready();
    address = await built.listen({ port: config.port, host: config.host });
    // After the API is ready: an instance that can be scraped is one that can serve.
    if (config.metrics) metricsServer = await startMetricsServer(deps.metrics.registry, config.metrics, logger);
  } catch (error) {
    await built?.close();
    await deps.close();
    throw error;
  }
  const app = built;
  // Requests whose response has not completed: what a shutdown that runs out of time abandons.
  const inFlight = new Set<ServerResponse>();
  // Node's server.close() (inside app.close()) destroys idle connections once, and counts as idle a
  // connection whose response has been ended but not yet flushed to a slow reader, cutting it short.
  // So idle connections are closed only while no response is flushing, and again whenever a
  // response completes during shutdown: that also closes a keep-alive connection whose response
  // began before the signal, which would otherwise hold the drain for the 72 s keep-alive timeout.
  const closeIdleConnections = app.server.closeIdleConnections.bind(app.server);
  app.server.closeIdleConnections = () => {
    const flushing = [...inFlight].some((response) => response.writableEnded && !response.writableFinished);
    if (!flushing) closeIdleConnections();
  };
  // One shared listener, not a closure per request: this runs on every request.
  function responseClosed(this: ServerResponse) {
    inFlight.delete(this);
    if (deps.lifecycle.shuttingDown) app.server.closeIdleConnections();
  }
  app.server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
    inFlight.add(response);
    response.on('close', responseClosed);
  });
  // Node.js stops closing connections past headersTimeout once the server is closing, so a client
  // still sending its headers at the signal would hold the drain for as long as it likes. Such a
  // connection (open, with no request in flight) gets headersTimeout from the signal.
  const connections = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  const closeStalledConnections = () => {
    const busy = new Set([...inFlight.keys()].map((request) => request.socket));
    for (const socket of connections) if (!busy.has(socket)) socket.destroy();
  };
  const cleanup = startPeriodicCleanup(deps.periodicTasks, logger);

  const shutdown = async (signal: string): Promise<number> => {
    deps.lifecycle.shuttingDown = true;
    // Requests in flight complete, but must not keep their connection open afterwards (those
    // arriving from now on are refused by the app, connection closed too).
    for (const response of inFlight) if (!response.headersSent) response.setHeader('connection', 'close');
    logger.info({ signal }, 'shutdown started');
    const stalled = setTimeout(closeStalledConnections, HEADER_LIMITS.headersTimeout);
    const drained = (async () => {
      // Stops accepting connections, closes idle keep-alive ones, answers 503 to new requests on busy
      // ones, and resolves once the requests in flight have completed.
      await app.close();
      clearTimeout(stalled);
      logger.info({ tasks: deps.background.pending().length }, 'completing background tasks');
      await deps.background.drain();
      await cleanup.stop();
      await deps.close();
      // Last: the drain itself can be watched to its end.
      await metricsServer?.close();
    })();
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), config.shutdownTimeoutSeconds * 1000);
    });
    const outcome = await Promise.race([drained.then(() => 'done' as const), budget]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      logger.error(
        {
          requestsInFlight: [...inFlight].map(({ req }) => `${req.method} ${req.url?.split('?')[0]}`),
          backgroundTasks: deps.background.pending(),
        },
        `shutdown budget of ${config.shutdownTimeoutSeconds}s exceeded: abandoning requests in flight and background tasks`,
      );
      return 1;
    }
    logger.info('server stopped');
    return 0;
  };

  return { app, deps, address, metricsAddress: metricsServer?.address, shutdown };
}

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;

/** First SIGTERM/SIGINT: graceful shutdown, then exit. A second one: exit at once. */
export function exitOnSignals(running: RunningServer, logger: Logger): void {
  let stopping = false;
  for (const signal of Object.keys(SIGNAL_NUMBERS) as (keyof typeof SIGNAL_NUMBERS)[]) {
    process.on(signal, () => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(128 + SIGNAL_NUMBERS[signal]);
      }
      stopping = true;
      void running.shutdown(signal).then(
        (code) => process.exit(code),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}
