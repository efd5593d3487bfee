import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { errorBody, HttpError } from './errors.ts';

/**
 * Fastify's `clientErrorHandler`: what Node.js's HTTP parser refuses before any route sees it
 * (not HTTP, headers too slow or too large) is answered in our error format, then the connection
 * closes. A connection already reset has no one to answer.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const answer = refusalOf(error);
  if (socket.writable) {
    const body = JSON.stringify(errorBody(answer));
    socket.write(
      `HTTP/1.1 ${answer.statusCode} ${STATUS_CODES[answer.statusCode]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

function refusalOf(error: NodeJS.ErrnoException): HttpError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new HttpError(408, 'the request headers did not arrive in time', { code: 'request_timeout' });
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') return new HttpError(431, 'the request headers are too large');
  return new HttpError(400, 'the request is not valid HTTP/1.1');
}
