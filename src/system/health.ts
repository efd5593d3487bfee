import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ErrorBody } from '../platform/http/errors.ts';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<unknown>;
}

export interface HealthOptions {
  checks: ReadinessCheck[];
}

const CHECK_TIMEOUT_MS = 2_000;

const Status = Type.Object({ status: Type.String() });

export const healthRoutes: FastifyPluginAsyncTypebox<HealthOptions> = async (app, { checks }) => {
  app.get(
    '/healthz',
    { schema: { tags: ['health'], operationId: 'getHealth', summary: 'The process is running', response: { 200: Status } } },
    async () => ({
      status: 'ok',
    }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        operationId: 'getReadiness',
        summary: 'The database (and Redis) answer; 503 once shutdown has begun (answered before any route)',
        response: { 200: Status, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      for (const { name, check } of checks) {
        try {
          await withTimeout(check(), CHECK_TIMEOUT_MS);
        } catch (err) {
          request.log.warn({ err, check: name }, 'readiness check failed');
          return reply.code(503).send({ error: `${name} unavailable`, code: 'service_unavailable' });
        }
      }
      return { status: 'ready' };
    },
  );
};

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
