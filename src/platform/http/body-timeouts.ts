import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The handler reads the body as a stream at its own pace (uploads): only pauses in it are
     * limited (UPLOAD_IDLE_TIMEOUT_SECONDS), not how long it takes in all.
     */
    streamedBody?: boolean;
  }
}

/** The http.Server options that bound how long a client may take over its headers. */
export const HEADER_LIMITS = {
  headersTimeout: 10_000,
  // Node.js looks for connections past headersTimeout this often; its default, 30 s, would let a
  // stalled one linger three times as long.
  connectionsCheckingInterval: 1_000,
} as const;

/** How long a connection refused before its body arrived stays open for the answer to be read. */
const UNREAD_BODY_GRACE_MS = 1_000;

/** 408 and 413: answers to a body that is not read to its end. */
const CLOSING_STATUSES = new Set([408, 413]);

export interface BodyTimeouts {
  requestTimeoutMs: number;
  uploadIdleTimeoutMs: number;
}

/**
 * Bounds how long a client may take to send a body, so that a stalled one holds neither a
 * connection nor a graceful shutdown for long: a non-upload body must arrive whole within
 * REQUEST_TIMEOUT_SECONDS (else 408), an upload may pause at most UPLOAD_IDLE_TIMEOUT_SECONDS (else
 * it is abandoned). A reply sent before the body has arrived whole closes the connection, and a
 * refusal (4xx) does so without reading the rest of the body.
 */
export function installBodyTimeouts(app: FastifyInstance, { requestTimeoutMs, uploadIdleTimeoutMs }: BodyTimeouts): void {
  app.addHook('preParsing', async (request, reply, payload) => {
    if (!stillArriving(request)) return payload;
    if (request.routeOptions.config.streamedBody) {
      abandonWhenIdle(request, reply.raw, uploadIdleTimeoutMs);
      return payload;
    }
    return withDeadline(payload, reply.raw, requestTimeoutMs);
  });

  app.addHook('onSend', async (request, reply) => {
    // A body too large or too slow is not read to its end: the connection cannot carry another request.
    if (CLOSING_STATUSES.has(reply.statusCode)) reply.header('connection', 'close');
    if (!stillArriving(request)) return;
    reply.header('connection', 'close');
    // A refusal of the client's request is not read further. A 503 of ours (shutting down, a
    // dependency down) lets Node.js read and discard the rest, as a proxy streaming the body
    // expects of an answer it may pass on or retry elsewhere.
    if (reply.statusCode < 500) reply.raw.once('finish', () => closeUnread(request.raw));
  });
}

/** Whether the body is still on its way from a real connection (`inject()` has neither). */
function stillArriving(request: FastifyRequest): boolean {
  return request.raw.complete === false;
}

/**
 * Closes the connection of a request answered before its body arrived, without reading the body.
 * Node.js would go on reading it (and throw it away), and close the socket the moment its end is
 * written: with body bytes still unread, that close is a TCP reset, which can overtake the answer
 * on its way to the client. So reading stops, and the socket is destroyed after a grace period
 * in which the client reads its answer (a client that reads it closes the connection first).
 */
function closeUnread(request: IncomingMessage): void {
  const { socket } = request;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- the very function destroySoon() registered
  socket.removeListener('finish', socket.destroy);
  // After Node.js's own handler has set the body flowing (on this same 'finish').
  setImmediate(() => {
    request.pause();
    socket.pause();
  });
  const grace = setTimeout(() => socket.destroy(), UNREAD_BODY_GRACE_MS).unref();
  socket.once('close', () => clearTimeout(grace));
}

/**
 * Calls `release` once, when the request is over whichever way: its answer sent (even before its
 * body arrived: Node.js then never emits 'close' on the request), its connection reset, or the
 * server closing it. The response's 'close' comes in every one of these cases.
 */
function whenRequestEnds(response: ServerResponse, release: () => void): void {
  if (response.closed) release();
  else response.once('close', release);
}

/**
 * The body as a stream that fails with 408 unless it has ended within `ms`. Its timer and stream
 * go with the request: a request answered before its body arrived leaves neither behind.
 */
function withDeadline(payload: Readable, response: ServerResponse, ms: number): Readable {
  const guarded = new PassThrough();
  // Once the body parser has stopped reading (it refused the body, or the answer went first), no
  // one listens to this stream: an error on it is the request's end, not the process's.
  guarded.on('error', ignoreError);
  const timer = setTimeout(() => {
    payload.unpipe(guarded);
    guarded.destroy(new HttpError(408, `the request body did not arrive within ${ms / 1000} s`, { code: 'request_timeout' }));
  }, ms);
  const stop = () => clearTimeout(timer);
  payload.once('end', stop);
  payload.once('error', (error) => {
    stop();
    guarded.destroy(error);
  });
  whenRequestEnds(response, () => {
    stop();
    payload.unpipe(guarded);
    guarded.destroy();
  });
  return payload.pipe(guarded);
}

function ignoreError(): void {}

/**
 * Destroys the request (and its connection) once the client has sent nothing for `idleMs`; the
 * handler then sees its body fail, as if the client had gone, and removes what it had stored. The
 * HTTP parser reads the socket itself, so progress is seen in the socket's byte count, checked
 * about once a second. Bytes waiting to be consumed mean the server, not the client, is behind.
 */
function abandonWhenIdle(request: FastifyRequest, response: ServerResponse, idleMs: number): void {
  const { raw } = request;
  const socket = raw.socket;
  let bytesRead = socket.bytesRead;
  let lastProgress = Date.now();
  const check = setInterval(
    () => {
      if (raw.complete || raw.destroyed) return clearInterval(check);
      if (socket.bytesRead !== bytesRead || raw.readableLength > 0) {
        bytesRead = socket.bytesRead;
        lastProgress = Date.now();
      } else if (Date.now() - lastProgress >= idleMs) {
        clearInterval(check);
        request.log.info({ idleMs }, 'upload abandoned: the client sent nothing for too long');
        raw.destroy();
      }
    },
    Math.min(1_000, idleMs),
  );
  whenRequestEnds(response, () => clearInterval(check));
}
