import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import type { BackgroundTasks } from './background.ts';
import type { Config, TrustProxy } from './config.ts';
import type { Database } from './db/database.ts';
import { AccessLog } from './http/access-log.ts';
import { HttpError } from './http/errors.ts';
import { installSecurityHeaders } from './http/security-headers.ts';
import { installValidation } from './http/validation.ts';
import type { FeedCache } from './feed-cache.ts';
import type { OtpService } from './otp/service.ts';
import type { RateLimiter } from './ratelimit/limiter.ts';
import { accountRoutes } from './routes/account.ts';
import { creativesFeature } from './routes/creatives-feature.ts';
import { healthRoutes, type ReadinessCheck } from './routes/health.ts';
import { metaRoutes } from './routes/meta.ts';
import { signupRoutes } from './routes/signup.ts';
import { webRoutes } from './routes/web.ts';
import type { Sessions } from './sessions.ts';
import type { SmsSender } from './sms/sender.ts';
import type { LocalDiskStorage } from './storage/local-disk.ts';

/** JSON bodies (signup) are small; uploads are multipart and limited by MAX_UPLOAD_BYTES instead. */
export const JSON_BODY_LIMIT = 100 * 1024;

export interface Lifecycle {
  shuttingDown: boolean;
}

export interface AppDependencies {
  config: Config;
  db: Database;
  logger: FastifyBaseLogger;
  background: BackgroundTasks;
  lifecycle: Lifecycle;
  readinessChecks: ReadinessCheck[];
  otp: OtpService;
  rateLimiter: RateLimiter;
  sms: SmsSender;
  storage: LocalDiskStorage;
  sessions: Sessions;
  feedCache: FeedCache;
}

/** Builds the HTTP application from its dependencies; it does not listen (tests call `inject`). */
export async function buildApp(deps: AppDependencies) {
  const { config, lifecycle } = deps;
  const app = Fastify({
    loggerInstance: deps.logger,
    trustProxy: trustProxyOption(config.trustProxy),
    bodyLimit: JSON_BODY_LIMIT,
    genReqId: () => randomUUID(),
    logController: new AccessLog(),
    return503OnClosing: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // The router answers these itself, before any hook; say them in our format. A path that
    // cannot be percent-decoded names no resource, so it is not found like any other.
    frameworkErrors: (error, request, reply) => {
      const status = error.code === 'FST_ERR_BAD_URL' ? 404 : (error.statusCode ?? 500);
      void (reply as FastifyReply)
        .code(status)
        .header('x-request-id', request.id)
        .send({ error: status === 404 ? notFoundMessage(request) : error.message });
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  installValidation(app);
  app.decorateRequest('user', null);
  app.decorateRequest('token', null);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // A request arriving on an already-open connection once shutdown has begun is refused in our
    // error format (Fastify's own 503, turned off above, has another body).
    if (lifecycle.shuttingDown) {
      return reply.code(503).header('connection', 'close').send({ error: 'service unavailable: the server is shutting down' });
    }
  });
  // A request already in flight when shutdown begins must not keep its connection open afterwards.
  app.addHook('onSend', async (_request, reply) => {
    if (lifecycle.shuttingDown) reply.header('connection', 'close');
  });

  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if ('validation' in error && error.validation) {
      return reply.code(400).send({ error: error.message });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      if (error instanceof HttpError) reply.headers(error.headers);
      return reply.code(status).send({ error: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    if (error instanceof HttpError) reply.headers(error.headers);
    return reply.code(status).send({ error: status === 503 ? error.message : 'internal server error' });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: notFoundMessage(request) });
  });

  installSecurityHeaders(app, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        // Served over plain HTTP on a laptop; upgrading would break every request there.
        upgradeInsecureRequests: null,
      },
    },
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Cheershare API', version: '1.0.0', description: 'Phone OTP signup and scheduled image creatives.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  await app.register(healthRoutes, {
    checks: deps.readinessChecks,
  });
  await app.register(signupRoutes, deps);
  await app.register(accountRoutes, deps);
  await app.register(metaRoutes, { config });
  await app.register(creativesFeature, deps);
  await app.register(webRoutes);

  return app;
}

function notFoundMessage(request: FastifyRequest): string {
  return `${request.method} ${request.url.split('?')[0]} not found`;
}

export type App = Awaited<ReturnType<typeof buildApp>>;

/**
 * TRUST_PROXY as Fastify's `trustProxy`. Fastify 5 takes a bare hop count but then trusts no proxy
 * at all (every client would be the load balancer, sharing one per-IP limit); TRUST_PROXY=N means
 * N proxies in front, so trust the N nearest addresses, as proxy-addr always has.
 */
export function trustProxyOption(trustProxy: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trustProxy !== 'number') return trustProxy;
  return (_address, hop) => hop < trustProxy;
}
