import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export interface MetricsListener {
  port: number;
  host: string;
}

export interface MetricsServer {
  /** host:port actually bound (the port given may have been 0). */
  address: string;
  close(): Promise<void>;
}

/**
 * `GET /metrics` on a listener of its own, so the public API never exposes it. Plain node:http:
 * one route, no body to parse, nothing of the API's hooks or limits applies.
 */
export async function startMetricsServer(
  registry: Registry,
  { port, host }: MetricsListener,
  logger: Logger,
): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': registry.contentType });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        logger.error({ err }, 'metrics scrape failed');
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('scrape failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const address = `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  return {
    address,
    close: () =>
      new Promise((resolve) => {
        // A scraper keeps its connection alive between scrapes; nothing in flight is worth waiting for.
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
