import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { accountRoutes } from './auth/account-routes.ts';
import { protectScope } from './auth/guard.ts';
import { signupRoutes } from './auth/signup-routes.ts';
import type { AppDependencies } from './container.ts';
import { fileRoutes } from './creatives/file-routes.ts';
import { ACCEPTED_IMAGE_TYPES } from './creatives/image-type.ts';
import { VARIANT_WIDTHS } from './creatives/images.ts';
import { creativesRoutes, MAX_PAGE } from './creatives/routes.ts';
import { uploadRoutes } from './creatives/upload-routes.ts';
import { DependencyUnavailable } from './platform/dependency-unavailable.ts';
import { AccessLog } from './platform/http/access-log.ts';
import { HEADER_LIMITS, installBodyTimeouts } from './platform/http/body-timeouts.ts';
import { dropInvalidForwardedFor, trustProxyOption } from './platform/http/client-ip.ts';
import { errorBody, HttpError, toHttpError } from './platform/http/errors.ts';
import { swaggerOptions, swaggerUiOptions } from './platform/http/openapi.ts';
import { recordRequestDurations } from './platform/http/request-metrics.ts';
import { installSecurityHeaders } from './platform/http/security-headers.ts';
import { installValidation } from './platform/http/validation.ts';
import { healthRoutes } from './system/health.ts';
import { metaRoutes } from './system/meta.ts';
import { webRoutes } from './system/web.ts';

/** JSON bodies (signup) are small; uploads are multipart and limited by MAX_UPLOAD_BYTES instead. */
export const JSON_BODY_LIMIT = 100 * 1024;

/** Builds the HTTP application from its dependencies; it does not listen (tests call `inject`). */
export async function buildApp(deps: AppDependencies) {
  const { config, lifecycle } = deps;
  const app = Fastify({
    loggerInstance: deps.logger,
    trustProxy: trustProxyOption(config.trustProxy),
    bodyLimit: JSON_BODY_LIMIT,
    genReqId: () => randomUUID(),
    logController: new AccessLog(deps.logger),
    return503OnClosing: false,
    http: HEADER_LIMITS,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // The router answers these itself, before any hook; say them in our format. A path that
    // cannot be percent-decoded names no resource, so it is not found like any other.
    frameworkErrors: (error, request, reply) => {
      const answer = error.code === 'FST_ERR_BAD_URL' ? new HttpError(404, notFoundMessage(request)) : toHttpError(error);
      void (reply as FastifyReply).code(answer.statusCode).header('x-request-id', request.id).send(errorBody(answer));
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  installValidation(app);
  installBodyTimeouts(app, {
    requestTimeoutMs: config.requestTimeoutSeconds * 1000,
    uploadIdleTimeoutMs: config.uploadIdleTimeoutSeconds * 1000,
  });
  if (config.metrics) recordRequestDurations(app, deps.metrics);
  app.decorateRequest('user', null);
  app.decorateRequest('token', null);

  // Without trusted proxies the header is never read.
  if (config.trustProxy !== false) app.addHook('onRequest', dropInvalidForwardedFor);
  // Hooks on every request take a callback: an async one costs a promise and a turn of the
  // microtask queue per request. (Requests already in flight when shutdown begins are told to
  // close their connection by the server, which tracks them: src/server.ts.)
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    // A request arriving on an already-open connection once shutdown has begun is refused in our
    // error format (Fastify's own 503, turned off above, has another body).
    if (lifecycle.shuttingDown) {
      void reply
        .code(503)
        .header('connection', 'close')
        .send({ error: 'service unavailable: the server is shutting down', code: 'service_unavailable' });
      return;
    }
    // No route: refused here, in our format, before any body is read (Fastify's not-found handler
    // would run after reading it, or until REQUEST_TIMEOUT_SECONDS for one that never comes).
    if (request.is404) {
      void reply.code(404).send(errorBody(new HttpError(404, notFoundMessage(request))));
      return;
    }
    done();
  });

  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    const answer = toHttpError(error);
    if (error instanceof DependencyUnavailable) {
      // Not a bug: a warning naming what is out of reach, without a stack.
      request.log.warn({ dependency: error.dependency, cause: String(error.cause) }, 'request failed: dependency unavailable');
    } else if (answer.statusCode >= 500 && answer.code !== 'sms_budget_exhausted') {
      // A spent SMS budget is the service saying no, not a fault: the route alerts once an hour.
      request.log.error({ err: error }, 'request failed');
    }
    return reply.code(answer.statusCode).headers(answer.headers).send(errorBody(answer));
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
  await app.register(
    swagger,
    swaggerOptions({
      info: {
        title: 'Cheershare API',
        version: '1.0.0',
        description: 'Phone OTP signup and scheduled image creatives.',
        // No licence has been granted for this API: all rights reserved. The URL is relative to the server.
        license: { name: 'Proprietary', url: '/docs' },
      },
    }),
  );
  await app.register(swaggerUi, swaggerUiOptions());

  // Public routes: a stale token in the header never blocks them.
  await app.register(healthRoutes, { checks: deps.readinessChecks });
  await app.register(metaRoutes, {
    config,
    acceptedTypes: ACCEPTED_IMAGE_TYPES.map((type) => type.mime),
    variantWidths: VARIANT_WIDTHS,
    pageLimitMax: MAX_PAGE,
  });
  await app.register(signupRoutes, deps);
  await app.register(fileRoutes, { creatives: deps.creatives });
  await app.register(webRoutes);

  // Protected routes: authentication happens once, here, before anything else of the request.
  await app.register(async (scope) => {
    protectScope(scope, deps.sessions);
    await scope.register(accountRoutes, { sessions: deps.sessions });
    await scope.register(creativesRoutes, { creatives: deps.creatives, appTimezone: config.appTimezone });
    await scope.register(uploadRoutes, {
      creatives: deps.creatives,
      admission: deps.uploadAdmission,
      images: deps.images,
      rules: config,
      metrics: deps.metrics,
    });
  });

  return app;
}

function notFoundMessage(request: FastifyRequest): string {
  return `${request.method} ${request.url.split('?')[0]} not found`;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
