import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { FastifyReply, FastifyRequest } from 'fastify';
import pino from 'pino';
import { AccessLog } from '../../src/platform/http/access-log.ts';

function captured(level: string): { log: AccessLog; lines: { level: number; msg: string; res?: { statusCode: number } }[] } {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  return { log: new AccessLog(pino({ level }, stream)), lines };
}

function completed(log: AccessLog, statusCode: number): void {
  const request = {
    id: 'r1',
    method: 'GET',
    url: '/scheduled',
    headers: {},
    host: 'h',
    ip: '127.0.0.1',
    socket: { remotePort: 1 },
  };
  log.requestCompleted(null, request as unknown as FastifyRequest, { statusCode, elapsedTime: 1 } as unknown as FastifyReply);
}

test('access lines: refusals and failures at info, successes only at debug', async () => {
  const info = captured('info');
  for (const status of [200, 204, 304, 401, 429, 503]) completed(info.log, status);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    info.lines.map((line) => [line.msg, line.res?.statusCode, line.level]),
    [401, 429, 503].map((status) => ['request completed', status, 30]),
  );

  const debug = captured('debug');
  completed(debug.log, 200);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    debug.lines.map((line) => [line.msg, line.res?.statusCode, line.level]),
    [['request completed', 200, 20]],
  );
});
