import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.ts';

/** Requests no route matched (404s, and requests the router refused): one series, whatever the URL was. */
export const UNMATCHED_ROUTE = 'unmatched';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Times every response in http_request_duration_seconds, labelled by the route's pattern
 * (`/creatives/:id`), never the URL a client sent, so series stay bounded.
 */
export function recordRequestDurations(app: FastifyInstance, metrics: Metrics): void {
  const duration = metrics.httpRequestDuration;
  app.addHook('onResponse', (request, reply, done) => {
    // A route's own pattern; the not-found handler has none (Fastify gives it the URL or nothing).
    const route = request.is404 ? UNMATCHED_ROUTE : (request.routeOptions.url ?? UNMATCHED_ROUTE);
    const method = KNOWN_METHODS.has(request.method) ? request.method : 'OTHER';
    duration.observe({ method, route, status: reply.statusCode }, reply.elapsedTime / 1000);
    done();
  });
}
