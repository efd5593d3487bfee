import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { ErrorBody } from '../platform/http/errors.ts';
import type { RouteDocumentation } from '../platform/http/openapi.ts';
import { ACCEPTED_IMAGE_TYPES } from './image-type.ts';
import { isStoredName, URL_PREFIX } from './storage/local-disk.ts';

const ONE_YEAR_MS = 365 * 24 * 60 * 60 * 1000;

const IMAGE_CONTENT = Object.fromEntries(
  ACCEPTED_IMAGE_TYPES.map(({ mime }) => [mime, { schema: { type: 'string', format: 'binary' } }]),
);

const FILE_DOCUMENTATION: RouteDocumentation = {
  wildcard: 'name',
  response: {
    200: { content: IMAGE_CONTENT, headers: { ETag: { type: 'string' } } },
    206: { content: IMAGE_CONTENT, headers: { 'Content-Range': { type: 'string' } } },
    304: { type: 'null' },
    416: ErrorBody,
  },
};

/**
 * `GET /uploads/<uuid>.<ext>`: stored creatives, straight from UPLOAD_DIR. A file's name never
 * changes content, so it is cached for a year. Only a stored file's exact name is served: no
 * directory, listing, redirect, temporary file or path outside the directory.
 */
export const fileRoutes: FastifyPluginAsync<{ directory: string }> = async (app, { directory }) => {
  // @fastify/static hides its routes from the OpenAPI document; this one is part of the API.
  app.addHook('onRoute', (route) => {
    route.schema = {
      tags: ['files'],
      operationId: 'getFile',
      summary: 'A stored creative (ranges, ETag and If-None-Match supported)',
      params: { type: 'object', properties: { '*': { type: 'string', description: '<uuid>.<ext>' } } },
      response: { 404: ErrorBody },
    };
    route.config = { ...route.config, openapi: FILE_DOCUMENTATION };
  });
  await app.register(fastifyStatic, {
    root: directory,
    prefix: URL_PREFIX,
    // The web client's static files register their own reply decorators.
    decorateReply: false,
    // Judged on the path as sent, so `//name`, `./name` or a percent-encoded name are not served either.
    allowedPath: (_pathname, _root, request) => {
      const path = request.url.split('?')[0]!;
      return path.startsWith(URL_PREFIX) && isStoredName(path.slice(URL_PREFIX.length));
    },
    index: false,
    list: false,
    redirect: false,
    dotfiles: 'ignore',
    maxAge: ONE_YEAR_MS,
    immutable: true,
    setHeaders: (res) => {
      res.setHeader('x-content-type-options', 'nosniff');
    },
  });
};
