import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { FastifyHttpOptions, FastifyServerFactory } from 'fastify';

interface RequestContext {
  requestId?: string;
}

const context = new AsyncLocalStorage<RequestContext>();

/** The id of the request whose work is running now, if any (for the log line of an escaped error). */
export function currentRequestId(): string | undefined {
  return context.getStore()?.requestId;
}

/** Fastify's `genReqId`: a fresh id, remembered in the context of the request it names. */
export function newRequestId(): string {
  const id = randomUUID();
  const store = context.getStore();
  if (store) store.requestId = id;
  return id;
}

/**
 * Fastify's `serverFactory`: its own HTTP/1.1 server, set up as Fastify would, except that every
 * request's work, and whatever it leaves behind (timers, streams), runs in a context of its own.
 */
export const serverWithRequestContext: FastifyServerFactory = (handler, options) => {
  const { http, keepAliveTimeout, requestTimeout, connectionTimeout } = options as FastifyHttpOptions<Server>;
  const server = createServer(http ?? {}, (request, response) => context.run({}, handler, request, response));
  server.keepAliveTimeout = keepAliveTimeout!;
  server.requestTimeout = requestTimeout!;
  server.setTimeout(connectionTimeout);
  return server;
};
