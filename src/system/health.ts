import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ErrorBody } from '../platform/http/errors.ts';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<unknown>;
  /**
   * Reported in /readyz's body but not a reason to leave rotation: every instance shares this
   * dependency (Redis, the bucket), so failing readiness over it would take the whole service
   * down, the routes that do not need it included.
   */
  reportOnly?: boolean;
}

export interface HealthOptions {
  checks: ReadinessCheck[];
}

const CHECK_TIMEOUT_MS = 2_000;

const Status = Type.Object({ status: Type.String() });
const DependencyStatus = Type.Union([Type.Literal('ok'), Type.Literal('down')]);
const Readiness = Type.Object(
  { status: Type.Literal('ok') },
  { additionalProperties: DependencyStatus, description: '`ok` or `down` for each dependency: database, redis, ...' },
);
const NotReady = Type.Object(ErrorBody.properties, { additionalProperties: DependencyStatus });

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
        summary:
          'The database answers (Redis is reported, not required); 503 once shutdown has begun (answered before any route)',
        response: { 200: Readiness, 503: NotReady },
      },
    },
    async (request, reply) => {
      const results = await Promise.all(
        checks.map(async ({ name, check }) => {
          try {
            await withTimeout(check(), CHECK_TIMEOUT_MS);
            return [name, 'ok'] as const;
          } catch (err) {
            request.log.warn({ err, check: name }, 'readiness check failed');
            return [name, 'down'] as const;
          }
        }),
      );
      const report = Object.fromEntries(results);
      const failed = checks.find(({ name, reportOnly }) => !reportOnly && report[name] === 'down');
      if (failed) {
        return reply.code(503).send({ error: `${failed.name} unavailable`, code: 'service_unavailable', ...report });
      }
      return { status: 'ok' as const, ...report };
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
