import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { PACKAGE_ROOT } from '../platform/package-root.ts';

/** The web client: plain ES modules and CSS, served as they are (no build step). */
export const PUBLIC_DIR = join(PACKAGE_ROOT, 'public');

/**
 * Serves `public/` at `/`. One route per file, found at start-up (`wildcard: false`): any other
 * path still reaches the JSON 404, and `/uploads/…` stays with the creatives' own static server.
 * `decorateReply: false` because that other registration may own `reply.sendFile`.
 */
export const webRoutes: FastifyPluginAsync = async (app) => {
  await app.register(fastifyStatic, {
    root: PUBLIC_DIR,
    prefix: '/',
    wildcard: false,
    decorateReply: false,
    index: 'index.html',
    // Files are not content-hashed, so the browser revalidates with the ETag every time.
    cacheControl: true,
    maxAge: 0,
  });
};
